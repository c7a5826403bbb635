/* A broker that is not installed: `flatline run` stops before anything
 * starts with exit 3 (this machine cannot) and a message naming what is
 * missing and the package that has it. The machine without the broker is
 * faked: FLATLINE_BROKER_ROOT points the drivers' program paths into an
 * empty directory, FLATLINE_AEDES_DIR at one without node_modules, and the
 * command kind names a program that does not exist. Needs root (the run's
 * own first check). */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/exit.h"

/* Runs flatline run on scenario text with one environment variable set;
 * returns the exit status, out gets stderr. */
static int run(const char *scenario_text, const char *var, const char *value, char *out, size_t len)
{
    char dir[] = "/tmp/flatline-installed-XXXXXX", path[128], log[128];
    cr_assert_not_null(mkdtemp(dir));
    snprintf(path, sizeof path, "%s/s.json", dir);
    snprintf(log, sizeof log, "%s/err.log", dir);
    FILE *f = fopen(path, "w");
    cr_assert_not_null(f);
    fputs(scenario_text, f);
    fclose(f);
    pid_t pid = fork();
    cr_assert_geq(pid, 0);
    if (pid == 0) {
        if (var)
            setenv(var, value, 1);
        if (!freopen(log, "w", stderr) || !freopen("/dev/null", "w", stdout))
            _exit(126);
        execl(FLATLINE_BINARY_DIR "/flatline", "flatline", "run", path, (char *)NULL);
        _exit(127);
    }
    int status;
    cr_assert_eq(waitpid(pid, &status, 0), pid);
    f = fopen(log, "r");
    size_t n = f ? fread(out, 1, len - 1, f) : 0;
    out[n] = '\0';
    if (f)
        fclose(f);
    unlink(path);
    unlink(log);
    rmdir(dir);
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static const char *scenario(const char *broker)
{
    static char text[1024];
    snprintf(text, sizeof text,
             "{\"flatline\": 1, \"name\": \"installed\", \"description\": \"a broker that may be missing\", \"duration\": 2, \"broker\": %s,"
             " \"groups\": [{\"name\": \"d\", \"clients_per_host\": 1, \"id_pattern\": \"d-{n}\", \"keepalive\": 4}]}",
             broker);
    return text;
}

static void expect_missing(const char *broker, const char *var, const char *value, const char *package)
{
    char err[2048];
    int code = run(scenario(broker), var, value, err, sizeof err);
    cr_expect_eq(code, FL_EXIT_MACHINE, "%s: exit %d (%s)", broker, code, err);
    cr_expect(strstr(err, package) != NULL, "%s: the message names %s: %s", broker, package, err);
}

Test(installed, mosquitto)
{
    expect_missing("{\"kind\": \"mosquitto\"}", "FLATLINE_BROKER_ROOT", "/nonexistent", "apt-get install mosquitto");
}

Test(installed, rabbitmq)
{
    expect_missing("{\"kind\": \"rabbitmq\"}", "FLATLINE_BROKER_ROOT", "/nonexistent",
                   "apt-get install rabbitmq-server");
}

Test(installed, aedes)
{
    expect_missing("{\"kind\": \"aedes\"}", "FLATLINE_AEDES_DIR", "/nonexistent", "npm package aedes");
}

Test(installed, command)
{
    expect_missing("{\"kind\": \"command\", \"command\": [\"/nonexistent/broker\", \"{port}\"]}", NULL, NULL,
                   "no executable \"/nonexistent/broker\"");
}

/* The same machine with the broker: not exit 3 (the run may still fail for
 * other reasons, but not for this one). */
Test(installed, mosquitto_present)
{
    if (access("/usr/sbin/mosquitto", X_OK) != 0)
        cr_skip_test("no mosquitto here");
    char err[2048];
    int code = run(scenario("{\"kind\": \"mosquitto\"}"), NULL, NULL, err, sizeof err);
    cr_expect_neq(code, FL_EXIT_MACHINE, "exit %d: %s", code, err);
}

/* A broker that dies before it is ready: the run breaks (exit 4) and the
 * message names the broker's log, which is kept; the test removes it. */
Test(ready, a_broker_that_exits_names_its_log)
{
    char err[2048];
    int code = run(scenario("{\"kind\": \"command\", \"command\": [\"/bin/false\"]}"), NULL, NULL, err, sizeof err);
    cr_expect_eq(code, FL_EXIT_BROKEN, "exit %d: %s", code, err);
    /* the progress breaks a long line at a blank: the path may begin the next */
    const char *at = strstr(err, "its log:");
    cr_assert_not_null(at, "no log named: %s", err);
    char path[512];
    cr_assert_eq(sscanf(at + strlen("its log:"), "%511s", path), 1);
    cr_expect(strstr(path, "/command.log") != NULL, "%s", path);
    cr_expect_eq(access(path, R_OK), 0, "the log %s is kept", path);
    char *slash = strrchr(path, '/');
    cr_assert_not_null(slash);
    *slash = '\0';
    cr_assert(strncmp(path, "/tmp/flatline-", 14) == 0, "%s", path);
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", path);
    cr_expect_eq(system(cmd), 0);
}
