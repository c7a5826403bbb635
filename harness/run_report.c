/* The end of a run: heartbeat traffic counted in the hosts, and the report
 * (analysis, model windows, expectations) written and summarised. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "core/clock.h"
#include "reports/report.h"
#include "run_internal.h"

#ifndef FLATLINE_VERSION
#define FLATLINE_VERSION "0.0.0"
#endif

/* ---- heartbeat traffic ---- */

/* TcpExtTCPKeepAlive (keep-alive probes sent) of the calling thread's
 * namespace; runs on a thread inside the host (fl_host_run). */
static int read_keepalive_probes(void *arg)
{
    uint64_t *probes = arg;
    FILE *f = fopen("/proc/thread-self/net/netstat", "re");
    if (!f)
        return -1;
    char names[8192], values[8192];
    int rc = -1;
    while (fgets(names, sizeof names, f) && fgets(values, sizeof values, f)) {
        if (strncmp(names, "TcpExt:", 7) != 0)
            continue;
        char *save_n, *save_v;
        char *n = strtok_r(names, " \n", &save_n), *v = strtok_r(values, " \n", &save_v);
        while (n && v) {
            if (strcmp(n, "TCPKeepAlive") == 0) {
                *probes += strtoull(v, NULL, 10);
                rc = 0;
            }
            n = strtok_r(NULL, " \n", &save_n);
            v = strtok_r(NULL, " \n", &save_v);
        }
    }
    fclose(f);
    return rc;
}

uint64_t fl_runner_keepalive_probes(runner *r)
{
    uint64_t probes = 0;
    char err[128];
    for (size_t i = 0; r->net && i < fl_netem_host_count(r->net); i++) {
        fl_host *h = fl_netem_host(r->net, i);
        if (h && fl_host_kind_of(h) != FL_HOST_NAT && fl_host_powered(h))
            fl_host_run(h, read_keepalive_probes, &probes, err, sizeof err);
    }
    return probes;
}

/* ---- report ---- */

static char *read_text(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    char *text = NULL;
    size_t cap = 0;
    *len = 0;
    for (;;) {
        if (*len + 4096 > cap) {
            char *t = realloc(text, cap = cap ? cap * 2 : 65536);
            if (!t)
                break;
            text = t;
        }
        size_t n = fread(text + *len, 1, cap - *len, f);
        *len += n;
        if (n == 0)
            break;
    }
    fclose(f);
    return text;
}

int fl_runner_write_report(runner *r, int64_t start_realtime_ns, bool complete)
{
    const fl_scenario *sc = r->sc;
    fl_report *rep = fl_report_new();
    char err[256];
    int exit_code = FL_EXIT_OK;
    if (!rep)
        return FL_EXIT_BROKEN;
    fl_report_set_version(rep, FLATLINE_VERSION);
    fl_report_set_kernel(rep, NULL);
    fl_report_set_seed(rep, sc->seed);
    size_t len;
    char *text = read_text(r->opt->scenario_path, &len);
    if (text && fl_report_set_scenario(rep, sc->name, text, len, err, sizeof err) < 0)
        fl_progress_note(&r->progress, "warning: report: %s", err);
    free(text);
    fl_report_set_start(rep, start_realtime_ns);
    uint64_t end = r->end_ns ? r->end_ns : fl_now_ns();
    fl_report_set_duration(rep, r->steady_ns ? (double)(end - r->steady_ns) / 1e9 : 0);
    fl_report_set_complete(rep, complete);
    fl_report_set_end(rep, end);

    fl_truth *truths = calloc(sc->nfaults ? sc->nfaults : 1, sizeof *truths);
    for (size_t i = 0; truths && i < sc->nfaults; i++) {
        fault_run *f = &r->faults[i];
        truths[i] = (fl_truth){
            .kind = fl_fault_kind_name(f->spec->kind),
            .target = f->spec->label,
            .inject_ns = f->injected ? f->inject_ns : 0,
            .heal_ns = f->healed ? f->heal_ns : 0,
            .addrs = (const char *const *)f->addrs,
            .naddrs = f->naddrs,
            .broker_side = sc->broker.kind == FL_BROKER_REFERENCE,
            .broker_wire = r->captured,
            .client_side = f->spec->kind != FL_FAULT_POWER_LOSS,
            .will = f->have_model && f->model.side[FL_SIDE_WILL].applicable,
            .model = f->have_model ? &f->model : NULL,
            .nat_timeout_ns = f->spec->kind == FL_FAULT_NAT_EXPIRY && f->spec->middlebox >= 0
                                  ? sc->middleboxes[f->spec->middlebox].timeout_ns
                                  : 0,
        };
    }
    if (truths)
        fl_analysis_report(r->analysis, truths, sc->nfaults, r->steady_ns ? r->steady_ns : end, end, rep);
    free(truths);
    /* On the wire per heartbeat: PINGREQ, PINGRESP and the client's ACK of it;
     * a keep-alive probe and its answer. Both are counted where they start (the
     * clients' counters, the kernels' TcpExtTCPKeepAlive); the ACK and the
     * answer are inferred, as the model does. Bytes as on veth: 66 + payload. */
    uint64_t pings, pingresps;
    double hours;
    fl_analysis_heartbeats(r->analysis, end, &pings, &pingresps, &hours);
    double packets = (double)pings + 2.0 * (double)pingresps + 2.0 * (double)r->keepalive_probes;
    double bytes = (double)pings * 68 + (double)pingresps * (68 + 66) + (double)r->keepalive_probes * 2 * 66;
    const fl_overhead *model = NULL;
    for (size_t i = 0; i < sc->nfaults && !model; i++)
        if (r->faults[i].have_model)
            model = &r->faults[i].model.overhead;
    if (hours > 0)
        fl_report_set_overhead(rep, packets, bytes, hours, model);
    for (size_t i = 0; i < sc->nexpects; i++)
        fl_report_add_expectation_json(rep, sc->expects[i].metric, fl_op_name(sc->expects[i].op),
                                       sc->expects[i].value);
    int failed = fl_report_finish(rep, err, sizeof err);
    if (failed < 0) {
        fprintf(stderr, "%s: %s: expectation: %s\n", fl_prog, sc->path, err);
        exit_code = FL_EXIT_USAGE;
    } else if (failed > 0) {
        exit_code = FL_EXIT_EXPECTATION;
    }
    fl_progress_done(&r->progress);
    fl_report_print_summary(rep, stdout, fl_report_want_color(stdout));
    if (r->opt->report_path && fl_report_write_json(rep, r->opt->report_path, err, sizeof err) < 0) {
        fprintf(stderr, "%s: cannot write the report: %s\n", fl_prog, err);
        exit_code = FL_EXIT_BROKEN;
    }
    fl_report_free(rep);
    return exit_code;
}
