/* The broker host's wire for the run: capture and socket watch, opened
 * before the broker starts and closed before the topology goes. */
#include "harness/run/run_wire.h"

#include <stdlib.h>
#include <string.h>

#include "core/clock.h"
#include "harness/brokers/brokers.h"

static void on_wire_event(json_t *ev, void *arg)
{
    fl_run_wire *w = arg;
    fl_run_take_line(w->run, ev);
}

/* A broker without an event log (its driver says black-box): the moment it
 * closes a connection is seen in the broker host, as the socket leaving
 * ESTABLISHED (sock_diag) or a FIN or RST on the wire, whichever comes first.
 * The capture runs on every run: it counts the heartbeat traffic for the
 * overhead. --pcap DIR keeps it. */
int fl_run_wire_open(fl_run_wire *w)
{
    fl_run_ctx *run = w->run;
    const fl_scenario *sc = run->sc;
    char err[256] = "";
    bool black_box = sc->broker.driver->observe == FL_BROKER_BLACK_BOX;
    if (black_box) {
        w->sockwatch = fl_sockwatch_open(fl_netem_broker(run->net), sc->broker.port, 20 * FL_NS_PER_MS, run->loop,
                                         on_wire_event, w, err, sizeof err);
        if (!w->sockwatch) {
            fl_run_break(run, "cannot watch the broker host's sockets: %s", err);
            return -1;
        }
    }
    w->capture = fl_capture_open(fl_netem_broker(run->net), fl_netem_broker_addr(run->net), sc->broker.port,
                                 run->opt->pcap_dir, run->loop, on_wire_event, w, err, sizeof err);
    if (!w->capture && !run->opt->pcap_dir && !black_box) {
        /* Only the overhead needs it here: the run goes on without. */
        fl_progress_note(&run->progress, "warning: no capture in the broker host, no overhead measured: %s", err);
        return 0;
    }
    if (!w->capture) {
        fl_run_break(run, "cannot capture in the broker host: %s", err);
        return -1;
    }
    w->captured = true;
    if (run->opt->pcap_dir)
        fl_progress_note(&run->progress, "capturing the broker host's traffic to %s/broker.pcap", run->opt->pcap_dir);
    return 0;
}

/* The overhead's window ends here, before the drain's shutdown traffic. It
 * runs a moment past the measurement's end so that a heartbeat sent just
 * before it is counted with its answer (a delayed ACK takes up to 40 ms);
 * the connection-hours run to the same moment. */
#define HEARTBEAT_ANSWER_NS (100 * FL_NS_PER_MS)
void fl_run_wire_count_heartbeats(fl_run_wire *w)
{
    if (!w->capture)
        return;
    fl_run_wait(w->run, NULL, NULL, fl_now_ns() + HEARTBEAT_ANSWER_NS);
    w->heartbeats_ns = fl_now_ns();
    size_t n;
    const fl_conn_heartbeats *hb = fl_capture_heartbeats(w->capture, &n);
    w->heartbeats = malloc((n ? n : 1) * sizeof *hb);
    if (!w->heartbeats)
        return;
    if (n)
        memcpy(w->heartbeats, hb, n * sizeof *hb);
    w->nheartbeats = n;
    w->heartbeats_counted = true;
}

void fl_run_wire_close(fl_run_wire *w)
{
    fl_capture_close(w->capture);
    w->capture = NULL;
    fl_sockwatch_close(w->sockwatch);
    w->sockwatch = NULL;
}

void fl_run_wire_free(fl_run_wire *w)
{
    fl_run_wire_close(w);
    free(w->heartbeats);
    w->heartbeats = NULL;
}
