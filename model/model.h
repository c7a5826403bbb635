/* The detection model: for a configuration and a fault, the window [lo, hi]
 * (seconds after a reference time) in which each side must notice that its
 * connection is dead, which detector wins, and what the heartbeat costs on the
 * wire. Pure functions: no I/O, no clock, no allocation. Formulas, sources and
 * assumptions: docs/model.md. */
#ifndef FLATLINE_HARNESS_MODEL_H
#define FLATLINE_HARNESS_MODEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

/* Client heartbeat strategies, as clients/strategy.h implements them. */
typedef enum fl_model_strategy {
    FL_MS_MQTT,          /* PINGREQ after KA without sending; dead at ping + ping_timeout */
    FL_MS_MISS_TOLERANT, /* as mqtt, re-ping at each timeout; dead after `misses` unanswered */
    FL_MS_PROBE,         /* ping after `idle` without receiving, then every `interval`; dead after `count` */
    FL_MS_ADAPTIVE,      /* interval in [min, max] and <= KA, timeout from RTT; dead after `misses` */
    FL_MS_TCP_ONLY,      /* pings for the broker only; TCP options decide */
} fl_model_strategy;

/* Socket options of one side, resolved to numbers (no "0 = use the sysctl"). */
typedef struct fl_model_tcp {
    bool keepalive;           /* SO_KEEPALIVE */
    double idle_s, interval_s; /* TCP_KEEPIDLE, TCP_KEEPINTVL */
    int count;                /* TCP_KEEPCNT */
    double user_timeout_s;    /* TCP_USER_TIMEOUT / 1000; 0 = off */
    int retries2;             /* net.ipv4.tcp_retries2 of the side's namespace (default 15) */
    double rto_min_s;         /* net.ipv4.tcp_rto_min; 0.2 s */
    bool unacked_at_fault;    /* the side had data in flight when the fault hit */
} fl_model_tcp;

typedef enum fl_model_fault {
    FL_MF_SILENT,      /* cable-pull, partition: every packet dropped both ways, no RST */
    FL_MF_POWER_LOSS,  /* the client host dies; with reboot_after_s its stack answers RST */
    FL_MF_NAT_EXPIRE,  /* the NAT forgets the mapping at the fault (expire-now) */
    FL_MF_NAT_TIMEOUT, /* the NAT's idle timeout: with FL_REF_FAULT the reference is the moment
                        * the mapping expires; with FL_REF_LAST_RX the connection's last packet
                        * (what a runner can measure: `last_rx` of close / dead_detected) */
    FL_MF_DEGRADE,     /* netem degradation: no detection expected */
} fl_model_fault;

/* What a broker does with a CONNECT whose client id is already connected. */
typedef enum fl_model_duplicate {
    FL_DUP_TAKEOVER, /* MQTT 3.1.1 and 5, section 3.1.4: it disconnects the existing client */
    FL_DUP_REJECT,   /* it refuses the new CONNECT and keeps the old connection (flatline-broker's
                      * duplicate_client_id "reject"): a reconnect never ends a ghost */
} fl_model_duplicate;

/* The client coming back with the same client id while the broker still
 * holds its dead connection: the new CONNECT takes the old one over, or
 * its SYN on the old port resets it (docs/model.md "Reconnect"). */
typedef struct fl_model_reconnect {
    /* power-loss with reboot_after_s: the rebooted host's clients start
     * again and connect at once (a new process, reconnect configured or
     * not); their CONNECTs reach the broker boot_lo_s..boot_hi_s after
     * the reboot (start-up, connect ramp, handshake: measured bounds in
     * harness/scenario/predict.c). boot_hi_s 0: when is unknown (a
     * black-box client): they may come. */
    double boot_lo_s, boot_hi_s;
    /* A silent fault that heals (fault_duration_s): with enabled, the
     * client reconnects after its own detection: it waits
     * delay_lo_s..delay_hi_s (the first attempt after a live connection),
     * then its connect starts within ramp_s (the swarm's connect ramp).
     * An attempt sends SYNs 0, 1, 3, 7, ... s after its start (initial
     * RTO 1 s, doubling) and is given up after attempt_s (the connect
     * timeout); the next one waits up to retry_delay_hi_s. */
    bool enabled;
    double delay_lo_s, delay_hi_s, retry_delay_hi_s;
    double ramp_s, attempt_s;
} fl_model_reconnect;

typedef enum fl_model_reference {
    FL_REF_FAULT,   /* windows start at the fault (the phase of the heartbeat is unknown) */
    FL_REF_LAST_RX, /* windows start at the last packet the connection carried */
} fl_model_reference;

typedef struct fl_model_config {
    struct {
        double grace;          /* MQTT keep-alive multiplier (1.5) */
        /* The rest of the broker's keep-alive rule (model/broker_rule.h):
         * a periodic check every check_interval_s + check_interval_ka x KA
         * (both 0: an exact timer), run up to check_lag_s late, at
         * check_phase_s + k x interval after the reference (< 0: unknown);
         * whole_seconds: clock and limit in whole seconds (mosquitto 2.0). */
        double check_interval_s, check_interval_ka, check_lag_s, check_phase_s;
        bool whole_seconds;
        double idle_timeout_s; /* application-message idle limit; 0 = off */
        fl_model_duplicate duplicate; /* a new CONNECT with a connected client id (its driver says) */
        fl_model_tcp tcp;
    } broker;
    struct {
        double keepalive_s; /* the Keep Alive granted (v5 Server Keep Alive if sent); 0 = off */
        fl_model_strategy strategy;
        double ping_timeout_s; /* mqtt, miss-tolerant; 0 = KA/2; adaptive: its timeout floor (0 = 0.2 s) */
        int misses;            /* miss-tolerant, adaptive; 0 = 3 */
        double probe_idle_s, probe_interval_s; /* probe */
        int probe_count;                       /* probe; 0 = 3 */
        double adaptive_min_s, adaptive_max_s; /* adaptive */
        double publish_interval_s; /* 0 = idle client */
        int publish_qos;
        bool will;            /* the client has a will: predict its delivery */
        bool carrier_lost;    /* the fault takes the client's own carrier away (cable-pull at the
                               * client host): its stack refuses some transmissions (docs/model.md) */
        double will_delay_s;  /* v5 Will Delay Interval */
        /* A client library's own rule (clients/adapters/table.c, docs/model.md
         * "Client libraries"): with library_wait_hi_s > 0 the mqtt strategy's
         * wait from PINGREQ to dead is [library_wait_lo_s, library_wait_hi_s]
         * instead of ping_timeout. */
        double library_wait_lo_s, library_wait_hi_s;
        /* A black-box program (the command adapter): its own heartbeat rule
         * is not known. Its side gets no window (fl_side_prediction.unknown)
         * and no per-connection instant. The broker's and the will's sides
         * take it for the mqtt strategy at its Keep Alive: a client that
         * sends within Keep Alive, as MQTT-3.1.2-23 asks of every client. */
        bool rule_unknown;
        fl_model_tcp tcp;
    } client;
    struct {
        double timeout_s; /* NAT idle timeout between client and broker; 0 = no NAT */
        bool reset;       /* on expiry the NAT answers RST instead of dropping */
    } nat;
    fl_model_reconnect reconnect;
    fl_model_fault fault;
    double fault_duration_s; /* 0 = until the end of the run */
    double reboot_after_s;   /* power-loss: the host comes back (same address, no state); 0 = never */
    double rtt_s;            /* round trip on the path (netem delay x 2); 0 on bare veth */
    fl_model_reference reference;
} fl_model_config;

/* Sensible defaults: grace 1.5, KA 60, strategy mqtt, TCP keep-alive off,
 * retries2 15, rto_min 0.2 s, silent fault, reference = fault; a broker that
 * takes a duplicate client id over; no reconnect (attempt 30 s if enabled),
 * and a rebooted client's return unknown (boot_hi_s 0). */
void fl_model_config_defaults(fl_model_config *c);

/* What noticed the death. The names are the close / dead_detected reasons of
 * docs/events.md, so a measured reason compares directly. */
typedef enum fl_detector {
    FL_DET_NONE,
    FL_DET_KEEPALIVE_TIMEOUT, /* broker: MQTT keep-alive (grace x KA) */
    FL_DET_IDLE_TIMEOUT,      /* broker: application idle limit */
    FL_DET_PING_TIMEOUT,      /* client: its heartbeat strategy */
    FL_DET_TCP_KEEPALIVE,
    FL_DET_USER_TIMEOUT,
    FL_DET_RETRANSMIT_TIMEOUT,
    FL_DET_RESET,
    FL_DET_TAKEOVER,          /* broker: the client's new CONNECT with the same client id (MQTT 3.1.4) */
    FL_DET_COUNT
} fl_detector;

const char *fl_detector_name(fl_detector d);
/* Reason string (from an event log) -> detector; FL_DET_NONE if unknown. */
fl_detector fl_detector_from_reason(const char *reason);

typedef enum fl_side { FL_SIDE_BROKER, FL_SIDE_CLIENT, FL_SIDE_WILL, FL_SIDE_COUNT } fl_side;
const char *fl_side_name(fl_side s);

typedef enum fl_expect {
    FL_EXPECT_ALL,  /* every affected connection is detected inside the window */
    FL_EXPECT_SOME, /* the fault heals inside the window: detections, if any, are inside it */
    FL_EXPECT_NONE, /* nothing should be detected (degrade, fault shorter than the window, NAT that never expires) */
} fl_expect;

/* A window in seconds after the reference. Infinite hi = never (see isinf). */
typedef struct fl_window {
    double lo_s, hi_s;
} fl_window;

typedef struct fl_side_prediction {
    bool applicable;     /* false: the side cannot detect (power-loss client, no will) */
    bool unknown;        /* no model of this side: a black-box client's own rule (client.rule_unknown);
                          * the rest of the struct is empty */
    fl_expect expect;
    fl_window window;    /* nominal earliest .. latest, timer-wheel slack included in hi */
    fl_detector winner;  /* the detector that fires at the window's late end */
    unsigned winners;    /* bit (1u << detector) for every detector that can fire first */
    unsigned maybe;      /* bit for every detector that fires only for some connections (a reused
                          * port's reset, a reconnect that may not come): it moves lo, never hi */
    fl_window by_detector[FL_DET_COUNT]; /* each enabled detector on its own; lo = hi = INFINITY if off */
    char why[200];       /* one line: the formula that gives the window */
} fl_side_prediction;

typedef struct fl_overhead {
    double mqtt_packets_per_hour, mqtt_bytes_per_hour; /* PINGREQ, PINGRESP, ACK */
    double tcp_packets_per_hour, tcp_bytes_per_hour;   /* keep-alive probes and answers */
    double packets_per_hour, bytes_per_hour;           /* the sum, per connection, both directions */
} fl_overhead;

typedef struct fl_nat_prediction {
    bool present;
    double traffic_gap_s; /* longest silence on the connection while it is healthy (INFINITY: idle forever) */
    bool expires;         /* the NAT forgets the mapping of a healthy idle connection */
    char why[200];
} fl_nat_prediction;

typedef struct fl_prediction {
    fl_side_prediction side[FL_SIDE_COUNT];
    fl_overhead overhead;
    fl_nat_prediction nat;
    char warnings[400]; /* configuration traps, "" if none; "; "-separated */
} fl_prediction;

/* Fills out for cfg. Returns 0, or -1 with err naming the field at fault
 * ("client.keepalive_s: must be >= 0"). */
int fl_model_predict(const fl_model_config *cfg, fl_prediction *out, char *err, size_t errlen);

/* Tolerance of a verdict: a measured latency x is inside when
 * lo - tol <= x <= hi + tol, tol = abs_s + rel x hi. */
typedef struct fl_tolerance {
    double abs_s, rel;
} fl_tolerance;
#define FL_TOLERANCE_DEFAULT ((fl_tolerance){.abs_s = 0.25, .rel = 0.02})
bool fl_window_contains(const fl_window *w, double x_s, const fl_tolerance *tol);

/* The building blocks, exposed for tests and for `flatline model`. */
/* MQTT: the broker's deadline after the last packet: grace x KA. */
double fl_model_mqtt_deadline_s(double grace, double keepalive_s);
/* TCP keep-alive without user timeout: idle + interval x count after the last
 * received segment; with user_timeout_s > 0: idle + interval x max(1, ceil((U - idle)/interval)). */
double fl_model_tcp_keepalive_s(double idle_s, double interval_s, int count, double user_timeout_s);
/* tcp_retries2 time model M(r) (tcp_model_timeout with TCP_RTO_MIN 200 ms). */
double fl_model_retries2_s(int retries2);
/* How late a kernel timer armed for arm_s can fire at the kernel's HZ (timer
 * wheel granularity, model/timer_wheel.h). */
double fl_model_timer_slack_s(double arm_s);
/* The HZ of the kernel the connections run on (default 250): `flatline run
 * --virtual-time` sets the guest kernel's. Process-wide. */
void fl_model_set_hz(unsigned hz);
unsigned fl_model_hz(void);

/* A human table of the prediction (and the configuration that gave it), for
 * `flatline model` and the terminal summary. Returns 0, -1 on write error. */
int fl_model_print(const fl_model_config *cfg, const fl_prediction *p, FILE *out);

#endif
