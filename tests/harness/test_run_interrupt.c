/* SIGINT in the middle of a run: flatline stops cleanly, still writes a report
 * marked incomplete, exits 4 and leaves no namespace behind. */
#include <criterion/criterion.h>
#include <fcntl.h>
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "support/leftovers.h"

Test(run, sigint_writes_incomplete_report, .timeout = 60)
{
    char dir[] = "/tmp/flatline-test-XXXXXX", report[128];
    cr_assert_not_null(mkdtemp(dir));
    snprintf(report, sizeof report, "%s/report.json", dir);
    pid_t pid = fork();
    cr_assert_geq(pid, 0);
    if (pid == 0) {
        int null = open("/dev/null", 1);
        dup2(null, STDOUT_FILENO);
        dup2(null, STDERR_FILENO);
        execl(FLATLINE_BINARY_DIR "/flatline", "flatline", "run", FLATLINE_SOURCE_DIR "/scenarios/quickstart.json",
              "-o", report, (char *)NULL);
        _exit(127);
    }
    /* Let it reach the measuring phase (its connects are spread over a Keep
     * Alive of 3 s: measuring after about 3 s). */
    struct timespec ts = { 5, 0 };
    nanosleep(&ts, NULL);
    kill(pid, SIGINT);
    int status;
    cr_assert_eq(waitpid(pid, &status, 0), pid);
    cr_expect(WIFEXITED(status) && WEXITSTATUS(status) == 4, "exit status %d", status);
    cr_expect_eq(leftover_namespaces(pid), 0);
    json_t *r = json_load_file(report, 0, NULL);
    cr_assert_not_null(r, "no report after SIGINT");
    cr_expect(json_is_false(json_object_get(json_object_get(r, "run"), "complete")));
    json_decref(r);
    unlink(report);
    rmdir(dir);
}
