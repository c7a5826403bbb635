/* The JSON report (docs/report-format.md, docs/report.schema.json). Numbers
 * that can be infinite or missing (a window that never closes, a statistic
 * of no samples) are written as null: JSON has no infinity. */
#include "reports/report_impl.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static json_t *num(double x) { return isfinite(x) ? json_real(x) : json_null(); }

static json_t *stats_json(const fl_stats *st)
{
    if (!st->count)
        return json_null();
    return json_pack("{s:o, s:o, s:o, s:o, s:o, s:o}", "min", num(st->min), "p50", num(st->p50), "p90",
                     num(st->p90), "p99", num(st->p99), "max", num(st->max), "mean", num(st->mean));
}

static json_t *window_json(const fl_side_prediction *sp)
{
    json_t *by = json_object();
    for (int d = 1; d < FL_DET_COUNT; d++) {
        const fl_window *w = &sp->by_detector[d];
        if (isfinite(w->lo_s))
            json_object_set_new(by, fl_detector_name((fl_detector)d),
                                json_pack("{s:o, s:o}", "lo_s", num(w->lo_s), "hi_s", num(w->hi_s)));
    }
    return json_pack("{s:b, s:s, s:o, s:o, s:s, s:o, s:s}", "applicable", sp->applicable, "expect",
                     fl_expect_name(sp->expect), "lo_s", num(sp->window.lo_s), "hi_s", num(sp->window.hi_s),
                     "detector", fl_detector_name(sp->winner), "detectors", by, "why", sp->why);
}

static json_t *side_json(const fl_report_fault *f, int side)
{
    const fl_side_data *s = &f->side[side];
    json_t *reasons = json_object();
    for (size_t i = 0; i < s->nreasons; i++)
        json_object_set_new(reasons, s->reasons[i].reason,
                            json_pack("{s:I, s:o}", "count", (json_int_t)s->reasons[i].st.count, "latency_s",
                                      stats_json(&s->reasons[i].st)));
    /* Every detection's latency, in the order recorded: the statistics alone
     * cannot draw a CDF (flatline plot). */
    json_t *latencies = json_array();
    for (size_t i = 0; i < s->lat.n; i++)
        json_array_append_new(latencies, num(s->lat.v[i]));
    json_t *j = json_pack("{s:I, s:I, s:I, s:o, s:o, s:o, s:o, s:I, s:s}", "detected", (json_int_t)s->st.count,
                          "undetected", (json_int_t)s->undetected, "survived", (json_int_t)s->survived, "latency_s",
                          stats_json(&s->st), "latencies", latencies, "reasons", reasons, "model",
                          f->has_model && !f->model.side[side].unknown ? window_json(&f->model.side[side])
                                                                       : json_null(),
                          "outside",
                          (json_int_t)s->outside, "verdict", fl_verdict_name(s->verdict));
    /* Per connection: measured - predicted from its own history (model/instant.h). */
    json_t *residuals = json_array();
    for (size_t i = 0; i < s->resid.n; i++)
        json_array_append_new(residuals, num(s->resid.v[i]));
    json_object_set_new(j, "residual_s", stats_json(&s->resid_st));
    json_object_set_new(j, "residuals", residuals);
    json_object_set_new(j, "slack_max_s", s->resid.n ? num(s->slack_max) : json_null());
    json_object_set_new(j, "unexplained", json_integer((json_int_t)s->unexplained));
    json_object_set_new(j, "unpredicted", json_integer((json_int_t)s->unpredicted));
    json_object_set_new(j, "queued", json_integer((json_int_t)s->queued));
    json_object_set_new(j, "cpu_waited", json_integer((json_int_t)s->cpu_waited));
    json_object_set_new(j, "stalled", json_integer((json_int_t)s->stalled));
    return j;
}

static json_t *fault_json(const fl_report_fault *f, size_t index)
{
    json_t *conns = json_array();
    for (size_t i = 0; i < f->nconns; i++)
        json_array_append_new(conns, json_string(f->conns[i]));
    json_t *j = json_pack("{s:I, s:s, s:s, s:I, s:o, s:I, s:o}", "index", (json_int_t)index, "kind", f->kind,
                          "target", f->target, "inject_ns", (json_int_t)f->inject_ns, "heal_ns",
                          f->heal_ns ? json_integer((json_int_t)f->heal_ns) : json_null(), "affected",
                          (json_int_t)f->nconns, "connections", conns);
    for (int s = 0; s < FL_SIDE_COUNT; s++)
        json_object_set_new(j, fl_side_name((fl_side)s), side_json(f, s));
    json_object_set_new(j, "recovery",
                        json_pack("{s:I, s:o}", "count", (json_int_t)f->recovery_st.count, "latency_s",
                                  stats_json(&f->recovery_st)));
    json_t *gens = json_array();
    for (size_t g = 0; g < f->ngens; g++)
        json_array_append_new(gens, json_pack("{s:I, s:I, s:{s:I, s:o}}", "generation", (json_int_t)(g + 1),
                                              "affected", (json_int_t)f->gens[g].affected, "recovery", "count",
                                              (json_int_t)f->gens[g].recovery_st.count, "latency_s",
                                              stats_json(&f->gens[g].recovery_st)));
    json_object_set_new(j, "generations", gens);
    return j;
}

static json_t *overhead_model_json(const fl_overhead *o)
{
    return json_pack("{s:o, s:o, s:o, s:o, s:o, s:o}", "packets_per_conn_hour", num(o->packets_per_hour),
                     "bytes_per_conn_hour", num(o->bytes_per_hour), "mqtt_packets_per_conn_hour",
                     num(o->mqtt_packets_per_hour), "mqtt_bytes_per_conn_hour", num(o->mqtt_bytes_per_hour),
                     "tcp_packets_per_conn_hour", num(o->tcp_packets_per_hour), "tcp_bytes_per_conn_hour",
                     num(o->tcp_bytes_per_hour));
}

static json_t *iso8601(int64_t realtime_ns)
{
    if (realtime_ns <= 0)
        return json_null();
    time_t secs = (time_t)(realtime_ns / 1000000000);
    struct tm tm;
    char buf[40];
    if (!gmtime_r(&secs, &tm))
        return json_null();
    size_t n = strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(buf + n, sizeof buf - n, ".%03dZ", (int)(realtime_ns % 1000000000 / 1000000));
    return json_string(buf);
}

json_t *fl_report_to_json(const fl_report *r)
{
    json_t *faults = json_array();
    for (size_t i = 0; i < r->nfaults; i++)
        json_array_append_new(faults, fault_json(r->faults[i], i));

    json_t *fds = json_array();
    for (size_t i = 0; i < r->nfds; i++)
        json_array_append_new(fds, json_pack("{s:s, s:s, s:s, s:I}", "conn", r->fds[i].conn, "side",
                                             fl_side_name(r->fds[i].side), "reason", r->fds[i].reason, "t_ns",
                                             (json_int_t)r->fds[i].t_ns));

    json_t *oh = json_null();
    if (r->has_overhead)
        oh = json_pack("{s:o, s:o, s:o, s:o, s:o, s:o}", "packets", num(r->oh_packets), "bytes", num(r->oh_bytes),
                       "connection_hours", num(r->oh_conn_hours), "packets_per_conn_hour",
                       num(fl_report_overhead_packets(r)), "bytes_per_conn_hour", num(fl_report_overhead_bytes(r)),
                       "model", r->has_model_overhead ? overhead_model_json(&r->model_overhead) : json_null());
    if (r->has_overhead && r->has_overhead_parts) {
        double h = r->oh_conn_hours > 0 ? r->oh_conn_hours : NAN;
        json_object_set_new(oh, "connections", json_integer((json_int_t)r->oh_connections));
        json_object_set_new(oh, "mqtt", json_pack("{s:o, s:o, s:o, s:o}", "packets", num(r->oh_mqtt_packets), "bytes",
                                                  num(r->oh_mqtt_bytes), "packets_per_conn_hour",
                                                  num(r->oh_mqtt_packets / h), "bytes_per_conn_hour",
                                                  num(r->oh_mqtt_bytes / h)));
        json_object_set_new(oh, "tcp", json_pack("{s:o, s:o, s:o, s:o}", "packets", num(r->oh_tcp_packets), "bytes",
                                                 num(r->oh_tcp_bytes), "packets_per_conn_hour",
                                                 num(r->oh_tcp_packets / h), "bytes_per_conn_hour",
                                                 num(r->oh_tcp_bytes / h)));
    }
    if (r->has_overhead && r->oh_reason[0])
        json_object_set_new(oh, "reason", json_string(r->oh_reason));

    json_t *exps = json_array();
    for (size_t i = 0; i < r->nexps; i++) {
        const fl_expectation *e = &r->exps[i];
        json_array_append_new(exps, json_pack("{s:s, s:s, s:o, s:o, s:b}", "metric", e->metric, "op", e->op,
                                              "value", num(e->value), "actual",
                                              e->has_actual ? num(e->actual) : json_null(), "pass", e->pass));
    }

    json_t *run = json_pack("{s:s, s:O, s:I, s:o, s:o, s:b, s:I, s:{s:o, s:o}}",
                            "kernel", r->kernel ? r->kernel : "",
                            "sysctls", r->sysctls,
                            "seed", (json_int_t)r->seed,
                            "started_at", iso8601(r->start_realtime_ns),
                            "duration_s", num(r->duration_s),
                            "complete", r->complete,
                            "connections", (json_int_t)r->connections,
                            "tolerance", "abs_s", num(r->tol.abs_s), "rel", num(r->tol.rel));
    if (run)
        json_object_set_new(run, "broken", r->broken ? json_string(r->broken) : json_null());
    if (run && r->broker_scheduling)
        json_object_set_new(run, "broker_scheduling", json_string(r->broker_scheduling));
    json_t *scenario = json_pack("{s:s, s:s, s:O}", "name", r->scenario_name ? r->scenario_name : "", "sha256",
                                 r->sha256, "document", r->scenario ? r->scenario : json_null());
    json_t *fdo = json_pack("{s:I, s:o}", "count", (json_int_t)r->nfds, "connections", fds);

    return json_pack("{s:i, s:s, s:o, s:o, s:o, s:o, s:o, s:o, s:b}", "report_version", FL_REPORT_VERSION,
                     "flatline_version", r->version ? r->version : "", "run", run, "scenario", scenario, "faults",
                     faults, "false_disconnects", fdo, "overhead", oh, "expectations", exps, "passed",
                     fl_report_passed(r));
}

int fl_report_write_json(const fl_report *r, const char *path, char *err, size_t errlen)
{
    json_t *j = fl_report_to_json(r);
    if (!j) {
        snprintf(err, errlen, "%s: cannot build the report (out of memory)", path);
        return -1;
    }
    char *text = json_dumps(j, JSON_INDENT(2) | JSON_REAL_PRECISION(9));
    json_decref(j);
    if (!text) {
        snprintf(err, errlen, "%s: cannot serialise the report (out of memory)", path);
        return -1;
    }
    size_t len = strlen(text);
    /* One trailing newline: friendlier to terminals and diff. */
    char *withnl = realloc(text, len + 2);
    if (!withnl) {
        free(text);
        snprintf(err, errlen, "%s: out of memory", path);
        return -1;
    }
    withnl[len] = '\n';
    withnl[len + 1] = '\0';
    int rc = fl_write_file_atomic(path, withnl, len + 1, err, errlen);
    free(withnl);
    return rc;
}
