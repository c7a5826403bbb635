/* The report of one run: what the runner measured, next to what the model
 * predicted. The runner fills it while the run goes on; fl_report_finish()
 * computes statistics, verdicts and expectations; the writers put it out as
 * JSON (docs/report-format.md, docs/report.schema.json), a terminal table,
 * Markdown and JUnit XML.
 *
 * Times handed in are CLOCK_MONOTONIC ns (inject/heal) or seconds (latencies,
 * measured from the fault's inject time). Strings are copied. */
#ifndef FLATLINE_REPORTS_REPORT_H
#define FLATLINE_REPORTS_REPORT_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "model/model.h"
#include "reports/stats.h"

#define FL_REPORT_VERSION 1

typedef struct fl_report fl_report;
typedef struct fl_report_fault fl_report_fault;

fl_report *fl_report_new(void);
void fl_report_free(fl_report *r);

/* Run metadata. */
void fl_report_set_version(fl_report *r, const char *flatline_version);
void fl_report_set_kernel(fl_report *r, const char *kernel_release); /* NULL: read uname(2) */
void fl_report_set_sysctl(fl_report *r, const char *name, const char *value);
/* The broker process's CPU scheduling as the kernel reported it once the
 * broker listened: "SCHED_OTHER", "SCHED_FIFO 50" ... (timing depends on it). */
void fl_report_set_broker_scheduling(fl_report *r, const char *policy);
/* Reads the sysctls that decide detection times (tcp_keepalive_*, tcp_retries*,
 * tcp_rto_*, nf_conntrack_tcp_*) from /proc/sys, which follows the calling
 * thread's network namespace, and records them as "<label>/<name>" (label NULL
 * or "": just the name). Missing ones are skipped. Returns how many were read. */
int fl_report_read_sysctls(fl_report *r, const char *label);
void fl_report_set_seed(fl_report *r, uint64_t seed);
/* The scenario file's text: kept verbatim as JSON in the report, and its
 * SHA-256 recorded. Returns -1 (err says where) if it is not valid JSON. */
int fl_report_set_scenario(fl_report *r, const char *name, const char *text, size_t len, char *err,
                           size_t errlen);
/* Wall-clock start (CLOCK_REALTIME; written as ISO 8601 UTC) and duration. */
void fl_report_set_start(fl_report *r, int64_t realtime_ns);
void fl_report_set_duration(fl_report *r, double seconds);
void fl_report_set_complete(fl_report *r, bool complete); /* false on SIGINT or a broken run */
/* Why the run broke ("broker stopped unexpectedly (killed by SIGSEGV)"); the
 * text is copied into run.broken. Not called: the run did not break. */
void fl_report_set_broken(fl_report *r, const char *why);
void fl_report_set_tolerance(fl_report *r, fl_tolerance tol); /* default FL_TOLERANCE_DEFAULT */
void fl_report_set_connections(fl_report *r, size_t total);   /* connections in the run */
/* CLOCK_MONOTONIC ns when the run stopped watching for detections: an
 * undetected connection whose window ends after it is not held against the
 * verdict. Without it every undetected connection counts. */
void fl_report_set_end(fl_report *r, uint64_t end_ns);

/* Faults, in timeline order; the index is the one metric paths use. */
fl_report_fault *fl_report_add_fault(fl_report *r, const char *kind, const char *target, uint64_t inject_ns);
fl_report_fault *fl_report_fault_at(fl_report *r, size_t index);
size_t fl_report_fault_count(const fl_report *r);
void fl_report_fault_heal(fl_report_fault *f, uint64_t heal_ns);
int fl_report_fault_add_conn(fl_report_fault *f, const char *conn); /* an affected connection */
/* A detection on side (broker, client or will), latency_s after the inject. */
int fl_report_fault_detected(fl_report_fault *f, fl_side side, const char *reason, double latency_s);
/* Affected connections that side never detected by the end of the run. */
void fl_report_fault_undetected(fl_report_fault *f, fl_side side, size_t count);
/* Why a detection came later than its detector's slack, as its own process
 * saw it: queued_s behind the process's own work after the predicted instant
 * (the rest of the event-loop pass that fired it, or its previous detection),
 * cpu_wait_s waiting for a CPU in that pass (the scheduler's run_delay,
 * core/wake.h), stalled_s while the machine's own timers were late (the
 * runner's probe, core/stallwatch.h). 0 where nothing says. */
typedef struct fl_lateness {
    double queued_s, cpu_wait_s, stalled_s;
} fl_lateness;

/* The per-connection prediction of a detection on side (model/instant.h):
 * residual_s = measured - predicted latency, slack_s how late the predicted
 * detector may be, late (may be NULL) what else made it later. A residual in
 * [-FL_RESIDUAL_EARLY_S, slack_s] is explained; up to queued_s more (counted
 * as queued), then up to cpu_wait_s more (cpu_waited), then up to stalled_s
 * more (stalled) it is explained by the process or the machine rather than
 * the detector; any other is unexplained. */
#define FL_RESIDUAL_EARLY_S 0.001 /* the round trip the model does not know (veth: ~50 us) and timestamping */
int fl_report_fault_residual(fl_report_fault *f, fl_side side, double residual_s, double slack_s,
                             const fl_lateness *late);
/* A detection on side that has no per-connection prediction (the
 * configuration names no detector for it, or the side's history is unknown). */
void fl_report_fault_unpredicted(fl_report_fault *f, fl_side side);
/* Affected connections the fault touched but did not cut (it healed in time,
 * or the NAT never expired them): nobody had anything to detect. */
void fl_report_fault_survived(fl_report_fault *f, fl_side side, size_t count);
/* A standing fault cuts what crosses it again: generation 1 is what it cut
 * when it hit, 2 what it cut again after those reconnected, and so on. One
 * call per affected connection; recovered_s is the time from its cut until the
 * client was back, NAN if it never came back. */
int fl_report_fault_generation(fl_report_fault *f, unsigned generation, double recovered_s);
/* Time from the inject until the client's connection was back (reconnected). */
int fl_report_fault_recovered(fl_report_fault *f, double latency_s);
/* The model's prediction for this fault: its windows become the verdicts'
 * reference. Without it a side's verdict is "no_model". */
void fl_report_fault_set_model(fl_report_fault *f, const fl_prediction *p);

/* A close of a connection that no fault touched. */
int fl_report_false_disconnect(fl_report *r, const char *conn, fl_side side, const char *reason,
                               uint64_t t_ns);

/* Heartbeat traffic. measured: totals counted on the wire (or by the
 * processes) over connection_hours; model: the prediction (may be NULL). */
void fl_report_set_overhead(fl_report *r, double packets, double bytes, double connection_hours,
                            const fl_overhead *model);
/* The measured totals' parts (after fl_report_set_overhead): mqtt is PINGREQ,
 * PINGRESP and their ACKs, tcp is keep-alive probes and their answers;
 * connections: how many connections the figures cover. */
void fl_report_set_overhead_parts(fl_report *r, double mqtt_packets, double mqtt_bytes, double tcp_packets,
                                  double tcp_bytes, size_t connections);
/* Nothing to measure the overhead over: measured figures are null, with the
 * reason; the model's prediction (may be NULL) is still reported. */
void fl_report_set_overhead_unmeasured(fl_report *r, const char *reason, const fl_overhead *model);

/* An expectation from the scenario: metric path, operator ("<", "<=", ">",
 * ">=", "==", "!="), value. Evaluated by fl_report_finish(). Returns -1 if op
 * is not an operator. */
int fl_report_add_expectation(fl_report *r, const char *metric, const char *op, double value);
/* The same with the scenario's JSON value: a number, or true/false (1/0).
 * Returns -1 if op or the value's type is not usable. */
int fl_report_add_expectation_json(fl_report *r, const char *metric, const char *op, const json_t *value);

/* Computes statistics, verdicts and expectation results. Returns how many
 * expectations failed (0 = all held; outside-window verdicts are reported, not
 * counted here), or -1 with err naming the first unknown metric path
 * ("faults[3].broker.p99: no fault 3"). */
int fl_report_finish(fl_report *r, char *err, size_t errlen);

/* Any metric by path, in the grammar of reports/metric.h (docs/report-format.md
 * lists the paths): read from this report's JSON. Only valid after
 * fl_report_finish(). *value is NAN when the metric has no value. Returns 0,
 * or -1 with err naming the path. */
int fl_report_metric(const fl_report *r, const char *path, double *value, char *err, size_t errlen);

/* Verdicts and expectations of a finished report. */
bool fl_report_passed(const fl_report *r); /* every expectation held */

/* Output. The JSON is written atomically: a temporary file in the same
 * directory, fsync, rename; on failure the old file is untouched and no
 * temporary is left. Returns 0, or -1 with err. */
json_t *fl_report_to_json(const fl_report *r);
int fl_report_write_json(const fl_report *r, const char *path, char *err, size_t errlen);
/* Terminal summary: aligned columns, colour only if color is true (callers
 * pass isatty(fileno(out)) && !getenv("NO_COLOR")). */
int fl_report_print_summary(const fl_report *r, FILE *out, bool color);
/* isatty(out) and NO_COLOR unset (https://no-color.org). */
bool fl_report_want_color(FILE *out);
int fl_report_write_markdown(const fl_report *r, const char *path, char *err, size_t errlen);
int fl_report_write_junit(const fl_report *r, const char *path, char *err, size_t errlen);

/* Writes len bytes to path atomically (see above). A path that is a
 * character device or a FIFO (/dev/stdout, a named pipe) is written through,
 * never replaced (a FIFO must have a reader); a directory, block device or
 * socket is refused; a symlink stays, its target is replaced. */
int fl_write_file_atomic(const char *path, const void *data, size_t len, char *err, size_t errlen);
/* Whether fl_write_file_atomic could write path, checked before a run makes
 * anything: its folder exists and is writable, and the path is absent, a
 * regular file, a character device or a FIFO. 0, or -1 with err (naming path). */
int fl_output_path_check(const char *path, char *err, size_t errlen);

#endif
