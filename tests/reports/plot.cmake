# flatline plot (reports/plot.h, harness/cli/cmd_plot.c); sources in tests/plot/.
set(plot_tests ${CMAKE_SOURCE_DIR}/tests/plot)
flatline_add_test(NAME test_plot SOURCES ${plot_tests}/test_plot.c LIBS flatline_plot)
target_include_directories(test_plot PRIVATE ${plot_tests})
# The flatline binary and the page in headless Chromium (those parts skip
# without the chromium package); screenshots are read with libpng.
if(TARGET flatline)
  pkg_check_modules(LIBPNG IMPORTED_TARGET libpng)
  if(LIBPNG_FOUND)
    flatline_add_test(NAME test_plot_render SOURCES ${plot_tests}/test_plot_render.c ${plot_tests}/browser.c
                      LIBS flatline_reports PkgConfig::LIBPNG TIMEOUT 300 LABELS spawns)
    target_include_directories(test_plot_render PRIVATE ${plot_tests})
    add_dependencies(test_plot_render flatline)
    # A real run of scenarios/quickstart.json, then its page.
    flatline_add_test(NAME test_plot_run SOURCES ${plot_tests}/test_plot_run.c ${plot_tests}/browser.c
                      LIBS PkgConfig::JANSSON PkgConfig::LIBPNG LABELS "root;slow" TIMEOUT 240)
    target_include_directories(test_plot_run PRIVATE ${plot_tests})
    foreach(program flatline flatline-broker flatline-swarm)
      if(TARGET ${program})
        add_dependencies(test_plot_run ${program})
      endif()
    endforeach()
  else()
    message(WARNING "libpng-dev is missing: the flatline plot rendering tests are not built")
  endif()
endif()
