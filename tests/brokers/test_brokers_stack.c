/* Runs one stack scenario (scenarios/stacks/SCENARIO.json) end to end
 * (root, namespaces): the run completes, every expectation holds (among
 * them: the broker's detections lie inside its own model window, with the
 * report's tolerance of 0.25 s + 2 % of the window's end), the report names
 * a black-box or logged measurement for the broker side, and no namespace
 * of the run is left. SCENARIO is set per executable by CMake; the broker
 * starts once per test. */
#include <criterion/criterion.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "support/leftovers.h"

#ifndef SCENARIO
#define SCENARIO "broker-cable-pull-reference"
#endif

Test(stack, run, .timeout = 100)
{
    char dir[] = "/tmp/flatline-stack-XXXXXX", report[128], log[128];
    cr_assert_not_null(mkdtemp(dir));
    snprintf(report, sizeof report, "%s/report.json", dir);
    snprintf(log, sizeof log, "%s/run.log", dir);
    pid_t pid = fork();
    cr_assert_geq(pid, 0);
    if (pid == 0) {
        if (!freopen(log, "w", stdout))
            _exit(126);
        dup2(fileno(stdout), STDERR_FILENO);
        execl(FLATLINE_BINARY_DIR "/flatline", "flatline", "run",
              FLATLINE_SOURCE_DIR "/scenarios/stacks/" SCENARIO ".json", "-o", report, (char *)NULL);
        _exit(127);
    }
    int status;
    cr_assert_eq(waitpid(pid, &status, 0), pid);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        char cmd[256];
        snprintf(cmd, sizeof cmd, "cat %s >&2", log);
        cr_log_warn("run log follows (%d)", system(cmd));
    }
    cr_expect(WIFEXITED(status) && WEXITSTATUS(status) == 0, SCENARIO ": exit status %d", status);
    cr_expect_eq(leftover_namespaces(pid), 0, SCENARIO ": namespaces left behind");
    json_error_t err;
    json_t *r = json_load_file(report, 0, &err);
    cr_assert_not_null(r, "report: %s", err.text);
    cr_expect(json_is_true(json_object_get(json_object_get(r, "run"), "complete")));
    cr_expect(json_is_true(json_object_get(r, "passed")), SCENARIO ": an expectation failed");
    json_t *broker = json_object_get(json_array_get(json_object_get(r, "faults"), 0), "broker");
    const char *verdict = json_string_value(json_object_get(broker, "verdict"));
    cr_expect_str_eq(verdict ? verdict : "(none)", "inside", SCENARIO ": the broker against its own rule");
    json_decref(r);
    unlink(report);
    unlink(log);
    rmdir(dir);
}
