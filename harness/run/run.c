#include "harness/run/run.h"
#include "harness/run/vm_run.h"

#include <errno.h>
#include <ftw.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "core/exit.h"
#include "core/clock.h"
#include "core/stallwatch.h"
#include "harness/brokers/brokers.h"
#include "harness/run/run_ctx.h"
#include "harness/run/run_faults.h"
#include "harness/run/run_procs.h"
#include "harness/run/run_report.h"
#include "harness/run/run_wire.h"
#include "harness/run/topology.h"

/* The runner is its parts, each with its own state: the spine every part
 * sees (run_ctx.h), the processes, the fault timeline, the wire, and, here,
 * the signals and the progress timer. */
typedef struct runner {
    fl_run_ctx run;
    fl_run_procs procs;
    fl_run_faults faults;
    fl_run_wire wire;
    fl_timer progress_timer;
    int sigfd;
} runner;

/* ---- signals ---- */

static void on_signal(fl_loop *loop, int fd, unsigned events, void *arg)
{
    (void)loop;
    (void)events;
    runner *r = arg;
    struct signalfd_siginfo si;
    while (read(fd, &si, sizeof si) == (ssize_t)sizeof si) {
        /* SIGHUP: the terminal or the SSH session went away; stopping at
         * once would leave the namespaces, the state file and the processes. */
        if (si.ssi_signo == SIGINT || si.ssi_signo == SIGTERM || si.ssi_signo == SIGHUP) {
            if (!r->run.interrupted)
                fl_progress_note(&r->run.progress, "%s: stopping, the report will be marked incomplete",
                                 si.ssi_signo == SIGINT ? "interrupted" : si.ssi_signo == SIGHUP ? "hung up" : "terminated");
            r->run.interrupted = true;
        }
        /* SIGCHLD: exits are noticed through the event pipes' EOF and reaped there. */
    }
}

static int setup_signals(runner *r)
{
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGHUP);
    sigaddset(&set, SIGCHLD);
    if (sigprocmask(SIG_BLOCK, &set, NULL) < 0)
        return -1;
    signal(SIGPIPE, SIG_IGN);
    r->sigfd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
    if (r->sigfd < 0)
        return -1;
    return fl_loop_add(r->run.loop, r->sigfd, FL_READ, on_signal, r);
}

/* ---- progress ---- */

static void show_progress(runner *r)
{
    fl_live live;
    fl_analysis_live(r->run.analysis, &live);
    uint64_t now = fl_now_ns();
    bool measuring = r->run.steady_ns && now >= r->run.steady_ns;
    fl_progress_state s = {
        .phase = r->run.phase,
        .elapsed_s = (double)(now - (measuring ? r->run.steady_ns : r->run.start_ns)) / 1e9,
        .total_s = measuring ? (double)r->run.sc->duration_ns / 1e9 : 0,
        .up = live.up,
        .expected = r->procs.clients_expected,
        .broker_detected = live.broker_detected,
        .client_detected = live.client_detected,
        .reconnects = live.reconnects,
        .faults_done = r->faults.done,
        .faults = r->run.sc->nfaults,
    };
    fl_progress_update(&r->run.progress, &s);
}

static void on_progress_timer(fl_timer *t, uint64_t now_ns, void *arg)
{
    runner *r = arg;
    show_progress(r);
    /* In virtual time every wake-up costs host time: a status line every 5 s. */
    fl_loop_timer_set(r->run.loop, t, now_ns + (fl_vm_is_guest() ? 5 * FL_NS_PER_S : 250 * FL_NS_PER_MS));
}


/* ---- the run ---- */

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(path);
}

static int preflight(const fl_scenario *sc, const fl_run_options *opt)
{
    if (geteuid() != 0) {
        fprintf(stderr, "%s: run needs root (network namespaces, nftables); try sudo, or 'flatline doctor'\n", program_invocation_short_name);
        return FL_EXIT_MACHINE;
    }
    char path[1024];
    snprintf(path, sizeof path, "%s/flatline-swarm", opt->bindir);
    if (access(path, X_OK) != 0) {
        fprintf(stderr, "%s: flatline-swarm not found next to flatline (%s); build it first\n", program_invocation_short_name, path);
        return FL_EXIT_MACHINE;
    }
    char err[512];
    /* The broker's driver knows what it needs and which package has it. */
    fl_broker_site site = { .broker = sc->broker.object, .scenario = sc->name, .bindir = opt->bindir };
    if (sc->broker.driver->installed(&site, err, sizeof err) < 0) {
        fprintf(stderr, "%s: broker kind \"%s\": %s [%s]\n", program_invocation_short_name, sc->broker.driver->kind, err,
                sc->broker.driver->package);
        return FL_EXIT_MACHINE;
    }
    if (sc->broker.realtime_priority && fl_proc_realtime_possible(sc->broker.realtime_priority, err, sizeof err) < 0) {
        fprintf(stderr, "%s: $.broker.realtime_priority: this machine refuses %s\n", program_invocation_short_name, err);
        return FL_EXIT_MACHINE;
    }
    bool netem = false;
    for (size_t i = 0; i < sc->nfaults; i++)
        netem |= sc->faults[i].kind == FL_FAULT_DEGRADE;
    for (size_t i = 0; i < sc->ngroups; i++)
        netem |= sc->groups[i].link >= 0;
    netem |= sc->broker.link >= 0;
    if (netem) {
        fl_probe_result probe[FL_PROBE_COUNT];
        fl_netem_probe(probe);
        if (!probe[FL_PROBE_NETEM].ok) {
            fprintf(stderr, "%s: the scenario degrades links and this kernel has no sch_netem: %s\n", program_invocation_short_name,
                    probe[FL_PROBE_NETEM].message);
            return FL_EXIT_MACHINE;
        }
    }
    return FL_EXIT_OK;
}

static int run_phases(runner *r)
{
    const fl_scenario *sc = r->run.sc;
    char err[512];
    fl_run_phase(&r->run, "setup");
    int rc = fl_topology_build(sc, r->run.prefix, &r->run.net, err, sizeof err);
    if (rc < 0) {
        fprintf(stderr, "%s: cannot build the topology: %s\n", program_invocation_short_name, err);
        return rc == -FL_NETEM_ENONETEM || rc == -FL_NETEM_ENOTSUP ? FL_EXIT_MACHINE : FL_EXIT_BROKEN;
    }
    fl_progress_note(&r->run.progress, "topology %s: %zu hosts", r->run.prefix, fl_netem_host_count(r->run.net));
    if (fl_run_faults_prepare(&r->faults) < 0)
        return FL_EXIT_BROKEN;
    if (fl_run_wire_open(&r->wire) < 0 || fl_run_start_broker(&r->procs) < 0)
        return FL_EXIT_BROKEN;

    fl_run_phase(&r->run, "connect");
    if (fl_run_start_swarms(&r->procs) < 0)
        return FL_EXIT_BROKEN;
    fl_progress_note(&r->run.progress, "%zu swarm process%s started, %llu clients connecting", r->procs.nswarms,
                     r->procs.nswarms == 1 ? "" : "es", (unsigned long long)r->procs.clients_expected);
    if (!fl_run_wait(&r->run, fl_run_swarms_ready, &r->procs, fl_now_ns() + sc->connect_timeout_ns)) {
        if (!r->run.broken && !r->run.interrupted) {
            fl_live live;
            fl_analysis_live(r->run.analysis, &live);
            fl_run_break(&r->run, "only %zu of %llu clients connected within %.0f s ($.connect_timeout); process logs: "
                            "%s/", live.up, (unsigned long long)r->procs.clients_expected,
                            (double)sc->connect_timeout_ns / 1e9, r->run.workdir);
        }
        return FL_EXIT_BROKEN;
    }
    r->run.steady_ns = fl_now_ns();
    r->run.end_ns = r->run.steady_ns + sc->duration_ns;
    fl_run_phase(&r->run, "steady");
    fl_progress_note(&r->run.progress, "all %llu clients connected; measuring for %.0f s",
                     (unsigned long long)r->procs.clients_expected, (double)sc->duration_ns / 1e9);
    fl_run_faults_arm(&r->faults);
    fl_run_wait(&r->run, NULL, NULL, r->run.end_ns);
    if (r->run.interrupted || r->run.broken)
        r->run.end_ns = fl_now_ns();
    fl_run_wire_count_heartbeats(&r->wire);
    return r->run.broken ? FL_EXIT_BROKEN : FL_EXIT_OK;
}

/* The machine's timer probe: a 1 ms grid on every CPU; a wake-up 0.1 ms late
 * is kept. The probe sees a stall only from its first grid point inside it,
 * so a stall of L shows as lateness down to L - 1 ms: at a 0.5 ms threshold
 * a 1.3 ms stall could go unrecorded, and a process's timer that it held
 * 1.3 ms late stood unexplained (CI, nat-expiry, 2026-12-06). 0.1 ms misses
 * none longer than 1.1 ms; on-time wake-ups at the top real-time priority
 * come within a few tens of microseconds, so few records are noise. */
#define STALL_PERIOD_NS FL_NS_PER_MS
#define STALL_MIN_NS (FL_NS_PER_MS / 10)

/* What the probe saw goes into the analysis and --events as runner `stall`
 * lines (docs/events.md), stamped when each stall ended. */
static void take_stalls(fl_run_ctx *run, fl_stallwatch *w)
{
    size_t n = 0;
    fl_stall *seen = fl_stallwatch_stop(w, &n);
    for (size_t i = 0; i < n; i++) {
        json_t *line = json_pack("{s:I, s:s, s:s, s:i, s:I, s:I, s:I}", "t",
                                 (json_int_t)(seen[i].due_ns + seen[i].late_ns), "src", "runner", "ev", "stall", "cpu",
                                 seen[i].cpu, "since", (json_int_t)seen[i].since_ns, "due", (json_int_t)seen[i].due_ns,
                                 "late", (json_int_t)seen[i].late_ns);
        if (line)
            fl_run_take_line(run, line);
        json_decref(line);
    }
    free(seen);
}

int fl_run(const fl_scenario *sc, const fl_run_options *opt)
{
    int code = preflight(sc, opt);
    if (code != FL_EXIT_OK)
        return code;
    /* Every process the run starts inherits the soft open-files limit:
     * raised to the hard one here, so that it is the bound for each of them
     * (mosquitto too), as fl_scenario_check_machine counts it. */
    struct rlimit nofile;
    if (getrlimit(RLIMIT_NOFILE, &nofile) == 0 && nofile.rlim_cur < nofile.rlim_max) {
        nofile.rlim_cur = nofile.rlim_max;
        setrlimit(RLIMIT_NOFILE, &nofile);
    }
    runner *r = calloc(1, sizeof *r);
    if (!r)
        return FL_EXIT_BROKEN;
    r->run.sc = sc;
    r->run.opt = opt;
    r->sigfd = -1;
    r->procs.run = r->faults.run = r->wire.run = &r->run;
    r->faults.procs = &r->procs;
    r->run.phase = "setup";
    r->run.start_ns = fl_now_ns();
    struct timespec wall;
    clock_gettime(CLOCK_REALTIME, &wall);
    int64_t start_realtime = (int64_t)wall.tv_sec * 1000000000 + wall.tv_nsec;
    fl_progress_init(&r->run.progress, stderr, r->run.start_ns);
    snprintf(r->run.prefix, sizeof r->run.prefix, "fl%d", (int)getpid());
    snprintf(r->run.workdir, sizeof r->run.workdir, "%s/flatline-%s-XXXXXX", fl_run_tmpdir(), r->run.prefix);
    r->run.loop = fl_loop_new();
    r->run.analysis = fl_analysis_new();
    /* Signals first: a SIGHUP between the two would leave the work directory. */
    bool set_up = r->run.loop && r->run.analysis && setup_signals(r) == 0;
    if (!set_up || !mkdtemp(r->run.workdir)) {
        int e = errno;
        r->run.workdir[0] = '\0'; /* not made: a failed mkdtemp may leave its last try's name there */
        if (set_up)
            fprintf(stderr, "%s: cannot create a work directory in %s (TMPDIR): %s\n",
                    program_invocation_short_name, fl_run_tmpdir(), strerror(e));
        else
            fprintf(stderr, "%s: cannot set up the run: %s\n", program_invocation_short_name, strerror(e));
        code = FL_EXIT_BROKEN;
        goto out;
    }
    if (opt->events_path && !(r->run.events = fopen(opt->events_path, "we"))) {
        fprintf(stderr, "%s: cannot write %s: %s\n", program_invocation_short_name, opt->events_path, strerror(errno));
        code = FL_EXIT_USAGE;
        goto out;
    }
    /* Whole lines as they happen: a killed runner's file still ends at its last event. */
    if (r->run.events)
        setvbuf(r->run.events, NULL, _IOLBF, 0);
    fl_timer_init(&r->progress_timer, on_progress_timer, r);
    fl_loop_timer_set(r->run.loop, &r->progress_timer, fl_now_ns() + FL_NS_PER_S);
    fl_progress_note(&r->run.progress, "scenario %s: %s", sc->name, sc->path);

    /* The machine's own timer lateness while the processes run (started
     * after the signals are blocked: its threads inherit the mask). Not in a
     * virtual-time guest, where every wake-up costs host time. */
    fl_stallwatch *stalls = fl_vm_is_guest() ? NULL : fl_stallwatch_start(STALL_PERIOD_NS, STALL_MIN_NS);
    code = run_phases(r);
    bool measured = r->run.steady_ns != 0;
    fl_run_phase(&r->run, "drain");
    fl_run_stop_processes(&r->procs);
    take_stalls(&r->run, stalls);
    fl_run_phase(&r->run, "teardown");
    fl_loop_timer_cancel(r->run.loop, &r->progress_timer);
    fl_run_wire_close(&r->wire); /* reads what is still buffered, before the namespace goes */
    if (r->run.net) {
        char err[512];
        if (fl_netem_teardown(r->run.net, err, sizeof err) < 0)
            fprintf(stderr, "%s: teardown: %s (run 'flatline cleanup')\n", program_invocation_short_name, err);
        r->run.net = NULL;
    }
    if (r->run.broken)
        fl_progress_note(&r->run.progress, "the run broke: %s", r->run.broken_msg);
    /* Interrupted or broken before the measurement began: still a report, incomplete. */
    if (measured || r->run.interrupted || r->run.broken) {
        int report_code = fl_run_write_report(&r->run, &r->procs, &r->faults, &r->wire, start_realtime, !r->run.broken && !r->run.interrupted);
        if (code == FL_EXIT_OK)
            code = report_code;
    } else {
        fl_progress_done(&r->run.progress);
    }
    /* An interrupted or broken run measured too little for its verdicts to count. */
    if ((r->run.interrupted || r->run.broken) && code != FL_EXIT_MACHINE && code != FL_EXIT_USAGE)
        code = FL_EXIT_BROKEN;
out:
    if (r->run.events)
        fclose(r->run.events);
    fl_run_procs_free(&r->procs);
    fl_run_wire_free(&r->wire);
    fl_run_faults_free(&r->faults);
    if (r->sigfd >= 0)
        close(r->sigfd);
    fl_analysis_free(r->run.analysis);
    fl_loop_free(r->run.loop);
    if (r->run.workdir[0] && strstr(r->run.workdir, "XXXXXX") == NULL) {
        /* Kept when the run broke: the process logs say why. */
        if (!r->run.broken && (code <= FL_EXIT_EXPECTATION || r->run.interrupted) && !opt->keep_workdir)
            nftw(r->run.workdir, remove_entry, 8, FTW_DEPTH | FTW_PHYS);
        else
            fprintf(stderr, "%s: configs and process logs kept in %s\n", program_invocation_short_name, r->run.workdir);
    }
    free(r);
    return code;
}
