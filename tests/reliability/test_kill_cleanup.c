/* SIGKILL the runner at each phase of a run, then `flatline cleanup`: nothing
 * of the run may remain, neither namespaces, the state file, the work
 * directory, the broker or swarm processes, nor anything in the root
 * namespace (links, nftables ruleset).
 *
 * Each phase is hit deterministically: FLATLINE_TEST_PAUSE_AT=<phase> makes
 * the runner stop itself (SIGSTOP) right after writing that phase line to
 * --events; the test checks the line is there, notes the run's processes,
 * and kills. A few kills at fixed delays after the start land inside
 * topology building and process start, where no phase line is. */
#include <criterion/criterion.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "runctl.h"

typedef struct root_state {
    char *links, *ruleset;
} root_state;

static root_state root_snapshot(void)
{
    return (root_state){ rc_root_links(), rc_capture("nft -j list ruleset 2>&1") };
}

static void root_free(root_state *s)
{
    free(s->links);
    free(s->ruleset);
}

/* The last line of the events file. */
static char *last_event(const char *path)
{
    char *text = rc_read_file(path);
    if (!text)
        return NULL;
    size_t len = strlen(text);
    while (len && text[len - 1] == '\n')
        text[--len] = 0;
    char *nl = strrchr(text, '\n');
    char *line = strdup(nl ? nl + 1 : text);
    free(text);
    return line;
}

static void assert_nothing_left(rc_run *r, const root_state *before)
{
    int rc = rc_cleanup();
    cr_expect_eq(rc, 0, "flatline cleanup exited %d", rc);
    cr_expect_eq(rc_namespaces_left(r->pid), 0, "namespaces of fl%d left after cleanup", (int)r->pid);
    cr_expect_not(rc_state_file_left(r->pid), "/run/flatline/fl%d.json left after cleanup", (int)r->pid);
    cr_expect_eq(rc_workdirs_left(r->pid), 0, "/tmp/flatline-fl%d-* left after cleanup", (int)r->pid);
    cr_expect_eq(rc_procs_alive(r), 0, "%zu of the run's %zu processes still running", rc_procs_alive(r), r->nprocs);
    cr_expect_eq(rc_run_procs_alive(r->pid), 0, "processes with the run's configs still running");
    root_state after = root_snapshot();
    cr_expect_str_eq(after.links, before->links, "root namespace links changed");
    cr_expect_str_eq(after.ruleset, before->ruleset, "root namespace nftables ruleset changed");
    root_free(&after);
}

static void kill_at(const char *phase, size_t min_procs)
{
    root_state before = root_snapshot();
    rc_run r;
    rc_start(&r, rc_small_scenario(), phase);
    bool stopped = rc_wait_stopped(&r, 40000);
    if (!stopped) {
        char *log = rc_read_file(r.log);
        rc_kill(&r, SIGKILL);
        rc_cleanup();
        cr_assert_fail("the runner never stopped at %s; its output:\n%s", phase, log ? log : "");
    }
    char *line = last_event(r.events);
    char want[64];
    snprintf(want, sizeof want, "\"phase\":\"%s\"", phase);
    cr_expect(line && strstr(line, want), "the events file does not end with the %s line: %s", phase,
              line ? line : "(none)");
    free(line);
    rc_record_procs(&r);
    cr_expect_geq(r.nprocs, min_procs, "at %s: %zu processes, expected at least %zu", phase, r.nprocs, min_procs);
    if (min_procs)
        cr_expect_neq(rc_find_child(&r, "flatline-broker"), 0, "no broker running at %s", phase);
    if (strcmp(phase, "setup") != 0)
        cr_expect_gt(rc_namespaces_left(r.pid), 0, "no namespaces at %s", phase);
    rc_kill(&r, SIGKILL);
    assert_nothing_left(&r, &before);
    root_free(&before);
    rc_free(&r);
}

/* One broker and three swarms (one a client host) from "connect" to "drain". */
#define RUN_PROCS 4

Test(kill, at_setup, .timeout = 60) { kill_at("setup", 0); }
Test(kill, at_connect, .timeout = 60) { kill_at("connect", 1); }
Test(kill, at_steady, .timeout = 60) { kill_at("steady", RUN_PROCS); }
Test(kill, at_faults, .timeout = 60) { kill_at("faults", RUN_PROCS); }
Test(kill, mid_fault, .timeout = 60) { kill_at("inject", RUN_PROCS); }
Test(kill, at_heal, .timeout = 60) { kill_at("heal", RUN_PROCS); }
Test(kill, at_drain, .timeout = 60) { kill_at("drain", RUN_PROCS); }
Test(kill, at_teardown, .timeout = 60) { kill_at("teardown", 0); }

/* Inside topology building and process start (about 0-200 ms into a run). */
static void kill_after_ms(int ms)
{
    root_state before = root_snapshot();
    rc_run r;
    rc_start(&r, rc_small_scenario(), NULL);
    struct timespec ts = { 0, (long)ms * 1000000L };
    nanosleep(&ts, NULL);
    rc_record_procs(&r);
    rc_kill(&r, SIGKILL);
    assert_nothing_left(&r, &before);
    root_free(&before);
    rc_free(&r);
}

Test(kill, after_10ms, .timeout = 60) { kill_after_ms(10); }
Test(kill, after_40ms, .timeout = 60) { kill_after_ms(40); }
Test(kill, after_70ms, .timeout = 60) { kill_after_ms(70); }
Test(kill, after_120ms, .timeout = 60) { kill_after_ms(120); }
Test(kill, after_200ms, .timeout = 60) { kill_after_ms(200); }
