/* The report's internals, shared by the files of reports/ (model, JSON,
 * summary, Markdown, JUnit). Not part of the interface. */
#ifndef FLATLINE_REPORTS_REPORT_IMPL_H
#define FLATLINE_REPORTS_REPORT_IMPL_H

#include "reports/report.h"
#include "reports/sha256.h"

typedef struct fl_reason_bucket {
    char *reason;
    fl_samples lat;
    fl_stats st;
} fl_reason_bucket;

typedef enum fl_verdict {
    FL_VERDICT_NO_MODEL,
    FL_VERDICT_NOT_APPLICABLE, /* the model says the side cannot detect, and it did not */
    FL_VERDICT_INSIDE,
    FL_VERDICT_OUTSIDE,
} fl_verdict;

typedef struct fl_side_data {
    fl_samples lat;
    fl_stats st;
    fl_reason_bucket *reasons;
    size_t nreasons;
    size_t undetected;
    size_t survived;  /* touched, not cut */
    fl_samples resid; /* measured - predicted, per detection with a per-connection prediction */
    fl_stats resid_st;
    double slack_max; /* the largest slack stated for those */
    size_t unexplained, unpredicted, queued, cpu_waited, stalled;
    size_t outside;   /* detections outside the tolerant window */
    bool late_undetected; /* undetected although the window closed before the end */
    fl_verdict verdict;
} fl_side_data;

struct fl_report_fault {
    char *kind, *target;
    uint64_t inject_ns, heal_ns;
    char **conns;
    size_t nconns, capconns;
    fl_side_data side[FL_SIDE_COUNT];
    fl_samples recovery;
    fl_stats recovery_st;
    struct fl_generation {
        size_t affected;
        fl_samples recovery;
        fl_stats recovery_st;
    } *gens; /* gens[0] is generation 1 */
    size_t ngens;
    bool has_model;
    fl_prediction model;
};

typedef struct fl_false_disc {
    char *conn, *reason;
    fl_side side;
    uint64_t t_ns;
} fl_false_disc;

typedef struct fl_expectation {
    char *metric;
    char op[3];
    double value, actual;
    bool has_actual, pass;
} fl_expectation;

struct fl_report {
    char *version, *kernel;
    char *broker_scheduling; /* as read back from the kernel, NULL: not known */
    json_t *sysctls;
    uint64_t seed;
    char *scenario_name;
    json_t *scenario;
    char sha256[FL_SHA256_HEX_LEN + 1];
    int64_t start_realtime_ns;
    double duration_s;
    bool complete;
    char *broken; /* why the run broke, or NULL */
    fl_tolerance tol;
    size_t connections;
    uint64_t end_ns;

    fl_report_fault **faults;
    size_t nfaults, capfaults;
    fl_false_disc *fds;
    size_t nfds, capfds;

    bool has_overhead;
    double oh_packets, oh_bytes, oh_conn_hours;
    bool has_overhead_parts;
    double oh_mqtt_packets, oh_mqtt_bytes, oh_tcp_packets, oh_tcp_bytes;
    size_t oh_connections;
    char oh_reason[160]; /* "" unless unmeasured */
    bool has_model_overhead;
    fl_overhead model_overhead;

    fl_expectation *exps;
    size_t nexps, capexps;
    bool finished;
    int failed;
};

const char *fl_verdict_name(fl_verdict v);
const char *fl_expect_name(fl_expect e);
/* Per connection-hour; NAN without overhead data. */
double fl_report_overhead_packets(const fl_report *r);
double fl_report_overhead_bytes(const fl_report *r);
/* "1.234 s", "never", "-" for a seconds value. */
void fl_format_seconds(char *buf, size_t len, double s);

#endif
