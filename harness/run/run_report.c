/* The end of a run: heartbeat traffic counted in the hosts, and the report
 * (analysis, model windows, expectations) written and summarised. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/exit.h"
#include "core/clock.h"
#include "reports/report.h"
#include "harness/brokers/brokers.h"
#include "harness/scenario/predict.h"
#include "harness/run/run_report.h"

#ifndef FLATLINE_VERSION
#define FLATLINE_VERSION "0.0.0"
#endif

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

/* acc += w * o, field by field. */
static void add_weighted(fl_overhead *acc, const fl_overhead *o, double w)
{
    acc->mqtt_packets_per_hour += w * o->mqtt_packets_per_hour;
    acc->mqtt_bytes_per_hour += w * o->mqtt_bytes_per_hour;
    acc->tcp_packets_per_hour += w * o->tcp_packets_per_hour;
    acc->tcp_bytes_per_hour += w * o->tcp_bytes_per_hour;
    acc->packets_per_hour += w * o->packets_per_hour;
    acc->bytes_per_hour += w * o->bytes_per_hour;
}

/* What the model predicts for the connections the overhead is counted on:
 * each group's own prediction, weighted by its untouched connection-hours
 * (by its client count when none were measured). */
static bool idle_model(fl_run_ctx *run, const fl_run_wire *wire, uint64_t end_ns, fl_overhead *out)
{
    const fl_scenario *sc = run->sc;
    double *hours = calloc(sc->ngroups ? sc->ngroups : 1, sizeof *hours);
    if (!hours)
        return false;
    double measured = 0;
    for (size_t g = 0; g < sc->ngroups; g++)
        measured += hours[g] = fl_analysis_idle_hours(run->analysis, wire->heartbeats, wire->nheartbeats,
                                                      sc->groups[g].name, end_ns);
    fl_overhead sum = { 0 };
    double total = 0;
    for (size_t g = 0; g < sc->ngroups; g++) {
        double w = measured > 0 ? hours[g] : (double)sc->groups[g].hosts * sc->groups[g].clients_per_host;
        fl_model_config cfg;
        fl_prediction p;
        char err[200];
        if (w <= 0)
            continue;
        fl_predict_group_config(sc, (int)g, &cfg);
        if (fl_model_predict(&cfg, &p, err, sizeof err) < 0)
            continue;
        add_weighted(&sum, &p.overhead, w);
        total += w;
    }
    free(hours);
    if (total <= 0)
        return false;
    *out = (fl_overhead){ 0 };
    add_weighted(out, &sum, 1 / total);
    return true;
}

/* The fault's clients talk to the broker through a NAT (a black-box broker
 * sees the NAT's address, not theirs). */
static bool fault_behind_nat(const fl_scenario *sc, const fl_sc_fault *f)
{
    int g = fl_fault_group(sc, f);
    return f->middlebox >= 0 || (g >= 0 && sc->groups[g].behind >= 0);
}

int fl_run_write_report(fl_run_ctx *run, const fl_run_procs *ps, const fl_run_faults *ft, const fl_run_wire *w,
                        int64_t start_realtime_ns, bool complete)
{
    const fl_scenario *sc = run->sc;
    fl_report *rep = fl_report_new();
    char err[256];
    int exit_code = FL_EXIT_OK;
    if (!rep)
        return FL_EXIT_BROKEN;
    fl_report_set_version(rep, FLATLINE_VERSION);
    fl_report_set_kernel(rep, NULL);
    if (ps->broker_scheduling[0])
        fl_report_set_broker_scheduling(rep, ps->broker_scheduling);
    fl_report_set_seed(rep, sc->seed);
    size_t len = run->opt->scenario_len;
    char *text = run->opt->scenario_text ? NULL : read_text(run->opt->scenario_path, &len);
    const char *doc = run->opt->scenario_text ? run->opt->scenario_text : text;
    if (doc && fl_report_set_scenario(rep, sc->name, doc, len, err, sizeof err) < 0)
        fl_progress_note(&run->progress, "warning: report: %s", err);
    free(text);
    fl_report_set_start(rep, start_realtime_ns);
    uint64_t end = run->end_ns ? run->end_ns : fl_now_ns();
    fl_report_set_duration(rep, run->steady_ns ? (double)(end - run->steady_ns) / 1e9 : 0);
    fl_report_set_complete(rep, complete);
    if (run->broken)
        fl_report_set_broken(rep, run->broken_msg);
    fl_report_set_end(rep, end);

    fl_truth *truths = calloc(sc->nfaults ? sc->nfaults : 1, sizeof *truths);
    fl_model_config *cfgs = calloc(sc->nfaults ? sc->nfaults : 1, sizeof *cfgs);
    for (size_t i = 0; truths && cfgs && i < sc->nfaults; i++) {
        const fault_run *f = &ft->faults[i];
        /* the same configuration the fault's model window came from */
        bool have_cfg = f->have_model && fl_predict_config(sc, f->spec, &cfgs[i]) == 0;
        truths[i] = (fl_truth){
            .kind = fl_fault_kind_name(f->spec->kind),
            .target = f->spec->label,
            .inject_ns = f->injected ? f->inject_ns : 0,
            .heal_ns = f->healed ? f->heal_ns : 0,
            .addrs = (const char *const *)f->addrs,
            .naddrs = f->naddrs,
            .broker_side = sc->broker.driver->observe == FL_BROKER_EVENT_LOG,
            .broker_wire = w->captured,
            .behind_nat = fault_behind_nat(sc, f->spec),
            .client_side = f->spec->kind != FL_FAULT_POWER_LOSS,
            .will = f->have_model && f->model.side[FL_SIDE_WILL].applicable,
            .model = f->have_model ? &f->model : NULL,
            .cfg = have_cfg ? &cfgs[i] : NULL,
            .nat_timeout_ns = f->spec->kind == FL_FAULT_NAT_EXPIRY && f->spec->middlebox >= 0
                                  ? sc->middleboxes[f->spec->middlebox].timeout_ns
                                  : 0,
        };
    }
    if (truths && cfgs)
        fl_analysis_report(run->analysis, truths, sc->nfaults, run->steady_ns ? run->steady_ns : end, end, rep);
    free(truths);
    free(cfgs);
    /* Heartbeat overhead as counted on the broker host's wire, over the
     * connections no fault touched: a cut connection stops pinging, and probes
     * into a dead one are not idle overhead. */
    fl_overhead model_value;
    bool have_model = idle_model(run, w, w->heartbeats_ns ? w->heartbeats_ns : end, &model_value);
    const fl_overhead *model = have_model ? &model_value : NULL;
    fl_idle_overhead idle;
    fl_analysis_idle_overhead(run->analysis, w->heartbeats, w->nheartbeats, w->heartbeats_ns, &idle);
    const char *unmeasured = fl_idle_overhead_unmeasured(&idle, w->heartbeats_counted);
    if (unmeasured) {
        fl_report_set_overhead_unmeasured(rep, unmeasured, model);
    } else {
        fl_report_set_overhead(rep, idle.mqtt_packets + idle.tcp_packets, idle.mqtt_bytes + idle.tcp_bytes,
                               idle.connection_hours, model);
        fl_report_set_overhead_parts(rep, idle.mqtt_packets, idle.mqtt_bytes, idle.tcp_packets, idle.tcp_bytes,
                                     idle.connections);
    }
    for (size_t i = 0; i < sc->nexpects; i++)
        fl_report_add_expectation_json(rep, sc->expects[i].metric, fl_op_name(sc->expects[i].op),
                                       sc->expects[i].value);
    int failed = fl_report_finish(rep, err, sizeof err);
    if (failed < 0) {
        fprintf(stderr, "%s: %s: expectation: %s\n", program_invocation_short_name, sc->path, err);
        exit_code = FL_EXIT_USAGE;
    } else if (failed > 0) {
        exit_code = FL_EXIT_EXPECTATION;
    }
    fl_progress_done(&run->progress);
    fl_report_print_summary(rep, stdout, fl_report_want_color(stdout));
    if (run->opt->report_path && fl_report_write_json(rep, run->opt->report_path, err, sizeof err) < 0) {
        fprintf(stderr, "%s: cannot write the report: %s\n", program_invocation_short_name, err);
        exit_code = FL_EXIT_BROKEN;
    }
    if (run->opt->report_out)
        *run->opt->report_out = rep;
    else
        fl_report_free(rep);
    return exit_code;
}
