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

#include "harness/run/capture.h"
#include "core/exit.h"
#include "core/clock.h"
#include "harness/brokers/brokers.h"
#include "harness/run/run_internal.h"
#include "harness/run/sockwatch.h"
#include "harness/run/topology.h"

/* ---- runner lines and failures ---- */

void fl_runner_event(runner *r, const char *ev, json_t *fields)
{
    json_t *line = json_pack("{s:I, s:s, s:s}", "t", (json_int_t)fl_now_ns(), "src", "runner", "ev", ev);
    if (fields)
        json_object_update(line, fields);
    json_decref(fields);
    if (r->events && line) {
        json_dumpf(line, r->events, JSON_COMPACT | JSON_PRESERVE_ORDER);
        fputc('\n', r->events);
    }
    /* Test hook (tests/reliability): FLATLINE_TEST_PAUSE_AT=<phase> stops the
     * runner right after that phase or fault line ("connect", "steady",
     * "inject", "drain", ...), so that a test can kill it at a known point. */
    const char *pause_at = getenv("FLATLINE_TEST_PAUSE_AT");
    const char *phase = json_string_value(json_object_get(line, "phase"));
    if (pause_at && phase && strcmp(pause_at, phase) == 0)
        raise(SIGSTOP);
    json_decref(line);
}

void fl_runner_break(runner *r, const char *fmt, ...)
{
    /* The first cause is the one worth reading. After a signal, what stops
     * (a wait cut short: "did not report listening within 10 s") is the
     * interrupt's doing, not a break: the run is reported as interrupted. */
    if (r->broken || r->interrupted)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(r->broken_msg, sizeof r->broken_msg, fmt, ap);
    va_end(ap);
    r->broken = true;
}

/* ---- events from the processes ---- */

static fl_proc *proc_of(runner *r, fl_evpipe *p)
{
    if (r->broker.events == p)
        return &r->broker;
    for (size_t i = 0; i < r->nswarms; i++)
        if (r->swarms[i].events == p)
            return &r->swarms[i];
    return NULL;
}

void fl_runner_on_event(fl_evpipe *pipe, json_t *ev, const char *line, void *arg)
{
    runner *r = arg;
    if (!ev) {
        fl_progress_note(&r->progress, "warning: %s wrote a line that is not a JSON object: %.80s",
                         fl_evpipe_name(pipe), line);
        return;
    }
    fl_analysis_add(r->analysis, ev);
    const char *name = json_string_value(json_object_get(ev, "ev"));
    if (!name)
        return;
    fl_proc *p = proc_of(r, pipe);
    if (strcmp(name, "listening") == 0) {
        r->broker_listening = true;
    } else if (strcmp(name, "ready") == 0 && p && !p->ready) {
        p->ready = true;
        p->ready_ns = (uint64_t)json_integer_value(json_object_get(ev, "t"));
        r->swarms_ready++;
    }
}

void fl_runner_on_eof(fl_evpipe *pipe, void *arg)
{
    runner *r = arg;
    fl_proc *p = proc_of(r, pipe);
    if (p && !p->expected_exit && !r->interrupted && strcmp(r->phase, "drain") != 0 &&
        strcmp(r->phase, "teardown") != 0) {
        char status[48];
        /* The pipe closes a moment before the exit status is there. */
        for (int i = 0; i < 50 && !fl_proc_reap(p); i++) {
            struct timespec ts = { 0, 2 * 1000 * 1000 };
            nanosleep(&ts, NULL);
        }
        /* A terminal's SIGINT or SIGHUP goes to the whole process group: the
         * broker or a swarm may end before the runner has read its own copy.
         * That is the interrupt, not a crash. */
        int sig = p->exited && WIFSIGNALED(p->status) ? WTERMSIG(p->status) : 0;
        sigset_t pending;
        bool stop_pending = sigpending(&pending) == 0 && (sigismember(&pending, SIGINT) == 1 ||
                            sigismember(&pending, SIGTERM) == 1 || sigismember(&pending, SIGHUP) == 1);
        if (stop_pending || sig == SIGINT || sig == SIGTERM || sig == SIGHUP) {
            fl_progress_note(&r->progress, "%s ended (%s) with a stop signal to the process group: stopping, the "
                             "report will be marked incomplete", p->name, fl_proc_status_text(p, status, sizeof status));
            r->interrupted = true;
            return;
        }
        fl_runner_break(r, "%s stopped unexpectedly (%s); its log: %s/", p->name, fl_proc_status_text(p, status,
                        sizeof status), r->workdir);
    }
}

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
            if (!r->interrupted)
                fl_progress_note(&r->progress, "%s: stopping, the report will be marked incomplete",
                                 si.ssi_signo == SIGINT ? "interrupted" : si.ssi_signo == SIGHUP ? "hung up" : "terminated");
            r->interrupted = true;
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
    return fl_loop_add(r->loop, r->sigfd, FL_READ, on_signal, r);
}

/* ---- progress ---- */

static void show_progress(runner *r)
{
    fl_live live;
    fl_analysis_live(r->analysis, &live);
    uint64_t now = fl_now_ns();
    bool measuring = r->steady_ns && now >= r->steady_ns;
    fl_progress_state s = {
        .phase = r->phase,
        .elapsed_s = (double)(now - (measuring ? r->steady_ns : r->start_ns)) / 1e9,
        .total_s = measuring ? (double)r->sc->duration_ns / 1e9 : 0,
        .up = live.up,
        .expected = r->clients_expected,
        .broker_detected = live.broker_detected,
        .client_detected = live.client_detected,
        .reconnects = live.reconnects,
        .faults_done = r->faults_done,
        .faults = r->sc->nfaults,
    };
    fl_progress_update(&r->progress, &s);
}

static void on_progress_timer(fl_timer *t, uint64_t now_ns, void *arg)
{
    runner *r = arg;
    show_progress(r);
    /* In virtual time every wake-up costs host time: a status line every 5 s. */
    fl_loop_timer_set(r->loop, t, now_ns + (fl_vm_is_guest() ? 5 * FL_NS_PER_S : 250 * FL_NS_PER_MS));
}

void fl_runner_phase(runner *r, const char *phase)
{
    r->phase = phase;
    fl_runner_event(r, "phase", json_pack("{s:s}", "phase", phase));
}

/* Runs the loop until done(r) or the deadline; false on timeout, break or signal. */
bool fl_runner_wait(runner *r, bool (*done)(runner *), uint64_t deadline)
{
    for (;;) {
        if (done && done(r))
            return true;
        if (r->broken || r->interrupted)
            return false;
        uint64_t now = fl_now_ns();
        if (now >= deadline)
            return done == NULL;
        if (fl_loop_once(r->loop, deadline - now) < 0 && errno != EINTR) {
            fl_runner_break(r, "event loop: %s", strerror(errno));
            return false;
        }
    }
}

static bool swarms_ready(runner *r) { return r->swarms_ready == r->nswarms; }

/* ---- wire capture ---- */

static void on_wire_event(json_t *ev, void *arg)
{
    runner *r = arg;
    fl_analysis_add(r->analysis, ev);
    if (r->events) {
        json_dumpf(ev, r->events, JSON_COMPACT | JSON_PRESERVE_ORDER);
        fputc('\n', r->events);
    }
}

/* A broker without an event log (its driver says black-box): the moment it closes a connection is seen in
 * the broker host, as the socket leaving ESTABLISHED (sock_diag) or a FIN or
 * RST on the wire, whichever comes first. The capture runs on every run: it
 * counts the heartbeat traffic for the overhead. --pcap DIR keeps it. */
static int start_capture(runner *r)
{
    char err[256] = "";
    bool black_box = r->sc->broker.driver->observe == FL_BROKER_BLACK_BOX;
    if (black_box) {
        r->sockwatch = fl_sockwatch_open(fl_netem_broker(r->net), r->sc->broker.port, 20 * FL_NS_PER_MS, r->loop,
                                         on_wire_event, r, err, sizeof err);
        if (!r->sockwatch) {
            fl_runner_break(r, "cannot watch the broker host's sockets: %s", err);
            return -1;
        }
    }
    r->capture = fl_capture_open(fl_netem_broker(r->net), fl_netem_broker_addr(r->net), r->sc->broker.port,
                                 r->opt->pcap_dir, r->loop, on_wire_event, r, err, sizeof err);
    if (!r->capture && !r->opt->pcap_dir && !black_box) {
        /* Only the overhead needs it here: the run goes on without. */
        fl_progress_note(&r->progress, "warning: no capture in the broker host, no overhead measured: %s", err);
        return 0;
    }
    if (!r->capture) {
        fl_runner_break(r, "cannot capture in the broker host: %s", err);
        return -1;
    }
    r->captured = true;
    if (r->opt->pcap_dir)
        fl_progress_note(&r->progress, "capturing the broker host's traffic to %s/broker.pcap", r->opt->pcap_dir);
    return 0;
}

/* The overhead's window ends here, before the drain's shutdown traffic. It
 * runs a moment past the measurement's end so that a heartbeat sent just
 * before it is counted with its answer (a delayed ACK takes up to 40 ms);
 * the connection-hours run to the same moment. */
#define HEARTBEAT_ANSWER_NS (100 * FL_NS_PER_MS)
static void save_heartbeats(runner *r)
{
    if (!r->capture)
        return;
    fl_runner_wait(r, NULL, fl_now_ns() + HEARTBEAT_ANSWER_NS);
    r->heartbeats_ns = fl_now_ns();
    size_t n;
    const fl_conn_heartbeats *hb = fl_capture_heartbeats(r->capture, &n);
    r->heartbeats = malloc((n ? n : 1) * sizeof *hb);
    if (!r->heartbeats)
        return;
    if (n)
        memcpy(r->heartbeats, hb, n * sizeof *hb);
    r->nheartbeats = n;
    r->heartbeats_counted = true;
}

/* ---- the run ---- */

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(path);
}

const char *fl_run_tmpdir(void)
{
    const char *dir = getenv("TMPDIR");
    return dir && dir[0] == '/' ? dir : "/tmp";
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
    const fl_scenario *sc = r->sc;
    char err[512];
    fl_runner_phase(r, "setup");
    int rc = fl_topology_build(sc, r->prefix, &r->net, err, sizeof err);
    if (rc < 0) {
        fprintf(stderr, "%s: cannot build the topology: %s\n", program_invocation_short_name, err);
        return rc == -FL_NETEM_ENONETEM || rc == -FL_NETEM_ENOTSUP ? FL_EXIT_MACHINE : FL_EXIT_BROKEN;
    }
    fl_progress_note(&r->progress, "topology %s: %zu hosts", r->prefix, fl_netem_host_count(r->net));
    if (fl_faults_prepare(r) < 0)
        return FL_EXIT_BROKEN;
    if (start_capture(r) < 0 || fl_runner_start_broker(r) < 0)
        return FL_EXIT_BROKEN;

    fl_runner_phase(r, "connect");
    if (fl_runner_start_swarms(r) < 0)
        return FL_EXIT_BROKEN;
    fl_progress_note(&r->progress, "%zu swarm process%s started, %llu clients connecting", r->nswarms,
                     r->nswarms == 1 ? "" : "es", (unsigned long long)r->clients_expected);
    if (!fl_runner_wait(r, swarms_ready, fl_now_ns() + sc->connect_timeout_ns)) {
        if (!r->broken && !r->interrupted) {
            fl_live live;
            fl_analysis_live(r->analysis, &live);
            fl_runner_break(r, "only %zu of %llu clients connected within %.0f s ($.connect_timeout); process logs: "
                            "%s/", live.up, (unsigned long long)r->clients_expected,
                            (double)sc->connect_timeout_ns / 1e9, r->workdir);
        }
        return FL_EXIT_BROKEN;
    }
    r->steady_ns = fl_now_ns();
    r->end_ns = r->steady_ns + sc->duration_ns;
    fl_runner_phase(r, "steady");
    fl_progress_note(&r->progress, "all %llu clients connected; measuring for %.0f s",
                     (unsigned long long)r->clients_expected, (double)sc->duration_ns / 1e9);
    fl_faults_arm(r);
    fl_runner_wait(r, NULL, r->end_ns);
    if (r->interrupted || r->broken)
        r->end_ns = fl_now_ns();
    save_heartbeats(r);
    return r->broken ? FL_EXIT_BROKEN : FL_EXIT_OK;
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
    r->sc = sc;
    r->opt = opt;
    r->sigfd = -1;
    r->phase = "setup";
    r->start_ns = fl_now_ns();
    struct timespec wall;
    clock_gettime(CLOCK_REALTIME, &wall);
    int64_t start_realtime = (int64_t)wall.tv_sec * 1000000000 + wall.tv_nsec;
    fl_progress_init(&r->progress, stderr, r->start_ns);
    snprintf(r->prefix, sizeof r->prefix, "fl%d", (int)getpid());
    snprintf(r->workdir, sizeof r->workdir, "%s/flatline-%s-XXXXXX", fl_run_tmpdir(), r->prefix);
    r->loop = fl_loop_new();
    r->analysis = fl_analysis_new();
    /* Signals first: a SIGHUP between the two would leave the work directory. */
    bool set_up = r->loop && r->analysis && setup_signals(r) == 0;
    if (!set_up || !mkdtemp(r->workdir)) {
        int e = errno;
        r->workdir[0] = '\0'; /* not made: a failed mkdtemp may leave its last try's name there */
        if (set_up)
            fprintf(stderr, "%s: cannot create a work directory in %s (TMPDIR): %s\n",
                    program_invocation_short_name, fl_run_tmpdir(), strerror(e));
        else
            fprintf(stderr, "%s: cannot set up the run: %s\n", program_invocation_short_name, strerror(e));
        code = FL_EXIT_BROKEN;
        goto out;
    }
    if (opt->events_path && !(r->events = fopen(opt->events_path, "we"))) {
        fprintf(stderr, "%s: cannot write %s: %s\n", program_invocation_short_name, opt->events_path, strerror(errno));
        code = FL_EXIT_USAGE;
        goto out;
    }
    /* Whole lines as they happen: a killed runner's file still ends at its last event. */
    if (r->events)
        setvbuf(r->events, NULL, _IOLBF, 0);
    fl_timer_init(&r->progress_timer, on_progress_timer, r);
    fl_loop_timer_set(r->loop, &r->progress_timer, fl_now_ns() + FL_NS_PER_S);
    fl_progress_note(&r->progress, "scenario %s: %s", sc->name, sc->path);

    code = run_phases(r);
    bool measured = r->steady_ns != 0;
    fl_runner_phase(r, "drain");
    fl_runner_stop_processes(r);
    fl_runner_phase(r, "teardown");
    fl_loop_timer_cancel(r->loop, &r->progress_timer);
    fl_capture_close(r->capture); /* reads what is still buffered, before the namespace goes */
    r->capture = NULL;
    fl_sockwatch_close(r->sockwatch);
    r->sockwatch = NULL;
    if (r->net) {
        char err[512];
        if (fl_netem_teardown(r->net, err, sizeof err) < 0)
            fprintf(stderr, "%s: teardown: %s (run 'flatline cleanup')\n", program_invocation_short_name, err);
        r->net = NULL;
    }
    if (r->broken)
        fl_progress_note(&r->progress, "the run broke: %s", r->broken_msg);
    /* Interrupted or broken before the measurement began: still a report, incomplete. */
    if (measured || r->interrupted || r->broken) {
        int report_code = fl_runner_write_report(r, start_realtime, !r->broken && !r->interrupted);
        if (code == FL_EXIT_OK)
            code = report_code;
    } else {
        fl_progress_done(&r->progress);
    }
    /* An interrupted or broken run measured too little for its verdicts to count. */
    if ((r->interrupted || r->broken) && code != FL_EXIT_MACHINE && code != FL_EXIT_USAGE)
        code = FL_EXIT_BROKEN;
out:
    if (r->events)
        fclose(r->events);
    if (r->broker.pid || r->broker.events)
        fl_proc_close(&r->broker);
    for (size_t i = 0; i < r->nswarms; i++)
        fl_proc_close(&r->swarms[i]);
    free(r->swarms);
    free(r->heartbeats);
    if (r->faults)
        fl_faults_free(r);
    if (r->sigfd >= 0)
        close(r->sigfd);
    fl_analysis_free(r->analysis);
    fl_loop_free(r->loop);
    if (r->workdir[0] && strstr(r->workdir, "XXXXXX") == NULL) {
        /* Kept when the run broke: the process logs say why. */
        if (!r->broken && (code <= FL_EXIT_EXPECTATION || r->interrupted) && !opt->keep_workdir)
            nftw(r->workdir, remove_entry, 8, FTW_DEPTH | FTW_PHYS);
        else
            fprintf(stderr, "%s: configs and process logs kept in %s\n", program_invocation_short_name, r->workdir);
    }
    free(r);
    return code;
}
