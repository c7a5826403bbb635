/* The per-connection prediction: from one connection's own last exchange
 * before the fault cut it (what the event logs say: the last packet each side
 * received) and the configuration, the instant each side's first detector
 * fires and how late that detector may be (its stated slack: ~1 ms for a
 * user-space timer, the timer wheel's granularity for kernel keep-alive and
 * retransmission timers). Where the phase-swept window (model.h) answers
 * "what can happen" for any phase, this answers "what should have happened"
 * for a phase that is known, so a measurement can be wrong. Pure: no I/O, no
 * clock, no allocation. */
#ifndef FLATLINE_MODEL_INSTANT_H
#define FLATLINE_MODEL_INSTANT_H

#include <stdbool.h>

#include "model/model.h"

/* One connection's history, in seconds relative to the moment the fault cut
 * it (<= 0: before the cut). */
typedef struct fl_conn_history {
    double broker_last_rx_s; /* the last packet the broker read from this client */
    double client_last_rx_s; /* the last packet the client read (its last PINGRESP, or CONNACK) */
    /* The client's last send before its unanswered pings, when its log says
     * (flatline-swarm's dead_detected last_tx): what a strategy that pings
     * after Keep Alive without sending counts from. Otherwise the last read
     * minus the round trip stands for it. */
    bool client_tx_known;
    double client_last_tx_s;
    /* The client came back with the same client id (reconnect configured,
     * or a rebooted device): the broker takes the old session over when the
     * new CONNECT arrives (MQTT 3.1.1 section 3.1.4, MQTT 5 section 3.1.4),
     * if no timer noticed the ghost before, and unless it rejects duplicates
     * (cfg->broker.duplicate). */
    bool reconnected;
    double reconnect_s;      /* the earliest its CONNECT can have been read (the handshake done) */
    double reconnect_done_s; /* the broker had handled it (its `connect` line); <= reconnect_s: the same */
    /* The earliest its reconnect's SYN can have reached the broker (the
     * attempt's start, not before the path healed). If the client's stack
     * chose the dead connection's source port, the broker's ghost socket
     * answers that SYN with a challenge ACK, the client's stack answers
     * with an RST (RFC 5961 section 4; RFC 793 for the RST) and the broker
     * reads a reset, up to a second before the CONNECT that would take it
     * over. The logs cannot say which port was chosen: the instant is then
     * the SYN's, with slack up to the CONNECT's. */
    bool retried;
    double retry_s;
    /* The broker's next connection came from the dead one's own address and
     * port (its log shows it), its handshake complete at reused_accept_s:
     * two sockets cannot share a four-tuple, so its first SYN met the ghost,
     * whose challenge ACK the client's stack answered with an RST, and the
     * SYN retransmitted one initial RTO (1 s) later was accepted. That
     * holds for any client on that port: a rebooted host's new process too. */
    bool port_reused;
    double reused_accept_s;
    /* The client's own timer gave up before the fault healed (heal_s): it
     * closed its socket with its unanswered PINGREQ, first sent at
     * orphan_sent_s, still in flight. The kernel keeps the orphan and
     * retransmits; the first retransmission after the heal reaches the
     * ghost, which reads it and answers, and the orphan, shut for reading,
     * answers with an RST (tcp_rcv_state_process, TCPAbortOnData): the
     * broker reads `reset` (`eof` if it acts on the FIN first). */
    bool orphan;
    double orphan_sent_s, heal_s;
} fl_conn_history;

typedef struct fl_instant {
    bool known;           /* false: the configuration gives no detector on this side, or the
                           * client is a black box (client.rule_unknown) */
    fl_detector detector; /* the first to fire */
    double at_s;          /* nominal instant, seconds after the cut */
    double slack_s;       /* it may fire up to this much later */
    bool by_reconnect;    /* broker: the reconnect (its SYN's reset, or its CONNECT's takeover) comes first
                           * (detector FL_DET_NONE) */
} fl_instant;

/* Fills out for side of a connection with history h under cfg
 * (cfg->reference is ignored: times are relative to the cut). The will is
 * the broker's instant plus the Will Delay (and one delivery's slack).
 * Returns 0, or -1 for a will the client does not have. */
int fl_model_instant(const fl_model_config *cfg, fl_side side, const fl_conn_history *h, fl_instant *out);

#endif
