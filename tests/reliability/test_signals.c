/* A run ends cleanly by itself on SIGINT and SIGTERM (exit 4, a report marked
 * "complete": false, nothing left behind), and a broker or swarm that crashes
 * mid-run (SIGSEGV) breaks the run (exit 4) with a message naming the process,
 * an incomplete report, and still a full cleanup.
 *
 * The signal is sent while the runner is stopped at a known phase
 * (FLATLINE_TEST_PAUSE_AT), then the runner continues and handles it. */
#include <criterion/criterion.h>
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "runctl.h"
#include "support/leftovers.h"

static void stop_at(rc_run *r, const char *phase)
{
    rc_start(r, rc_small_scenario(), phase);
    if (!rc_wait_stopped(r, 40000)) {
        char *log = rc_read_file(r->log);
        rc_kill(r, SIGKILL);
        rc_cleanup();
        cr_assert_fail("the runner never stopped at %s; its output:\n%s", phase, log ? log : "");
    }
    rc_record_procs(r);
}

static void expect_exit(rc_run *r, int code)
{
    int st = rc_wait_exit(r, 40000);
    if (st == -1) {
        rc_kill(r, SIGKILL);
        rc_cleanup();
        cr_assert_fail("the runner did not end within 40 s");
    }
    char *log = rc_read_file(r->log);
    cr_expect(WIFEXITED(st) && WEXITSTATUS(st) == code, "status %#x, expected exit %d; output:\n%s", st, code,
              log ? log : "");
    free(log);
}

static void expect_incomplete_report(const rc_run *r)
{
    json_error_t err;
    json_t *rep = json_load_file(r->report, 0, &err);
    cr_assert_not_null(rep, "no report: %s", err.text);
    json_t *complete = json_object_get(json_object_get(rep, "run"), "complete");
    cr_expect(json_is_false(complete), "run.complete is not false");
    json_decref(rep);
}

/* Left by the run itself, without `flatline cleanup`. */
static void expect_cleaned_by_itself(const rc_run *r, bool workdir_kept)
{
    cr_expect_eq(rc_namespaces_left(r->pid), 0, "namespaces left");
    cr_expect_not(rc_state_file_left(r->pid), "state file left");
    cr_expect_eq(rc_procs_alive(r), 0, "%zu processes still running", rc_procs_alive(r));
    cr_expect_eq(rc_run_procs_alive(r->pid), 0, "processes with the run's configs still running");
    if (!workdir_kept)
        cr_expect_eq(rc_workdirs_left(r->pid), 0, "work directory left");
}

static void interrupt_at(const char *phase, int sig)
{
    rc_run r;
    char *ruleset = leftovers_root_ruleset();
    stop_at(&r, phase);
    kill(r.pid, sig);
    kill(r.pid, SIGCONT);
    expect_exit(&r, 4);
    expect_incomplete_report(&r);
    expect_cleaned_by_itself(&r, false);
    cr_expect(rc_file_contains(r.log, sig == SIGINT ? "interrupted" : sig == SIGHUP ? "hung up" : "terminated"),
              "the output does not say the run was stopped by a signal");
    char *after = leftovers_root_ruleset();
    cr_expect_str_eq(after, ruleset, "the root namespace's nft ruleset changed");
    free(after);
    free(ruleset);
    rc_free(&r);
}

Test(signals, sigint_while_measuring, .timeout = 60) { interrupt_at("steady", SIGINT); }
Test(signals, sigterm_while_measuring, .timeout = 60) { interrupt_at("steady", SIGTERM); }
/* The terminal or the SSH session closing (issue 18): as SIGINT, not death. */
Test(signals, sighup_while_measuring, .timeout = 60) { interrupt_at("steady", SIGHUP); }

/* During the teardown the measurement is over: the run finishes its cleanup
 * and its report instead of dying with the namespaces half removed. */
Test(signals, sighup_during_teardown, .timeout = 60)
{
    rc_run r;
    char *ruleset = leftovers_root_ruleset();
    stop_at(&r, "teardown");
    kill(r.pid, SIGHUP);
    kill(r.pid, SIGCONT);
    int st = rc_wait_exit(&r, 40000);
    if (st == -1) {
        rc_kill(&r, SIGKILL);
        rc_cleanup();
        cr_assert_fail("the runner did not end within 40 s");
    }
    char *log = rc_read_file(r.log);
    cr_expect(WIFEXITED(st), "the runner was killed (status %#x); output:\n%s", st, log ? log : "");
    free(log);
    json_error_t err;
    json_t *rep = json_load_file(r.report, 0, &err);
    cr_expect_not_null(rep, "no report: %s", err.text);
    json_decref(rep);
    expect_cleaned_by_itself(&r, false);
    char *after = leftovers_root_ruleset();
    cr_expect_str_eq(after, ruleset, "the root namespace's nft ruleset changed");
    free(after);
    free(ruleset);
    if (rc_namespaces_left(r.pid))
        rc_cleanup();
    rc_free(&r);
}

/* A terminal that closes: the shell sends SIGHUP to the whole job, the
 * broker and the swarms as well as the runner (its own process group here). */
Test(signals, sighup_to_the_process_group, .timeout = 60)
{
    rc_run r;
    char *ruleset = leftovers_root_ruleset();
    stop_at(&r, "steady");
    cr_assert_eq(kill(-r.pid, SIGHUP), 0, "the runner is not a process group leader");
    kill(r.pid, SIGCONT);
    expect_exit(&r, 4);
    expect_incomplete_report(&r);
    /* An interrupt, not a crash: the work directory goes too. */
    expect_cleaned_by_itself(&r, false);
    char *log = rc_read_file(r.log);
    cr_expect(log && !strstr(log, "the run broke"), "a hangup reported as a broken run:\n%s", log ? log : "");
    free(log);
    char *after = leftovers_root_ruleset();
    cr_expect_str_eq(after, ruleset, "the root namespace's nft ruleset changed");
    free(after);
    free(ruleset);
    rc_free(&r);
}

Test(signals, sigint_mid_fault, .timeout = 60) { interrupt_at("inject", SIGINT); }
Test(signals, sigterm_while_connecting, .timeout = 60) { interrupt_at("connect", SIGTERM); }

static void crash_at_steady(const char *comm, const char *name_in_message)
{
    /* Under ASan the children would catch SIGSEGV themselves and exit 1. */
    const char *asan = getenv("ASAN_OPTIONS");
    char opts[512];
    snprintf(opts, sizeof opts, "%s%shandle_segv=0", asan ? asan : "", asan && asan[0] ? ":" : "");
    setenv("ASAN_OPTIONS", opts, 1);
    rc_run r;
    stop_at(&r, "steady");
    pid_t victim = rc_find_child(&r, comm);
    cr_assert_neq(victim, 0, "no %s among the run's processes", comm);
    kill(victim, SIGSEGV);
    kill(r.pid, SIGCONT);
    expect_exit(&r, 4);
    expect_incomplete_report(&r);
    cr_expect(rc_file_contains(r.log, name_in_message), "the output does not name the %s", name_in_message);
    cr_expect(rc_file_contains(r.log, "SIGSEGV"), "the output does not say SIGSEGV");
    json_error_t err;
    json_t *rep = json_load_file(r.report, 0, &err);
    cr_assert_not_null(rep, "no report: %s", err.text);
    const char *broken = json_string_value(json_object_get(json_object_get(rep, "run"), "broken"));
    cr_expect(broken && strstr(broken, name_in_message) && strstr(broken, "SIGSEGV"),
              "run.broken does not name the %s and SIGSEGV: %s", name_in_message, broken ? broken : "(null)");
    json_decref(rep);
    /* A broken run keeps its work directory (the process logs say why);
     * everything else is gone, and cleanup takes the directory. */
    expect_cleaned_by_itself(&r, true);
    cr_expect_eq(rc_cleanup(), 0);
    cr_expect_eq(rc_workdirs_left(r.pid), 0, "work directory left after cleanup");
    rc_free(&r);
}

Test(crash, broker_segv, .timeout = 60) { crash_at_steady("flatline-broker", "broker"); }
Test(crash, swarm_segv, .timeout = 60) { crash_at_steady("flatline-swarm", "swarm"); }
