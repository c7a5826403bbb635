/* The client coming back with the same client id while the broker still
 * holds its dead connection (docs/model.md "Reconnect"): when its new
 * connection can first reach the broker, at one phase of the heartbeat, and
 * what that does to the ghost. The new CONNECT takes the old connection over
 * (MQTT 3.1.1 and 5, section 3.1.4) unless the broker rejects duplicates; if
 * the client's stack picked the dead connection's source port, the SYN itself
 * meets the ghost socket, whose challenge ACK the client's stack answers with
 * an RST, and the broker reads `reset` (RFC 5961 section 4, RFC 793). */
#include "model/internal.h"

#include <math.h>

/* When the client's new connection first reaches the broker, seconds after
 * the fault. sure: it comes by hi (the client certainly tries, and the path
 * is open); otherwise it may come, or not. */
typedef struct arrival {
    double lo, hi;
    bool sure;
} arrival;

/* power-loss with a reboot: the runner starts the host's clients again at the
 * reboot (harness/run/run_faults.c heal()), and they connect at once. */
static bool after_reboot(const fl_model_config *c, arrival *a)
{
    if (c->fault != FL_MF_POWER_LOSS || !(c->reboot_after_s > 0))
        return false;
    a->lo = c->reboot_after_s + c->reconnect.boot_lo_s;
    a->sure = c->reconnect.boot_hi_s > 0;
    a->hi = a->sure ? c->reboot_after_s + c->reconnect.boot_hi_s + USER_TIMER_SLACK_S : INF;
    return true;
}

/* The longest the path can be open before an attempting client's next SYN
 * leaves. Inside an attempt the gaps double (1, 2, 4, ... s, each arm up to
 * its timer slot late). An attempt ends before its next SYN would go (at the
 * latest when it is given up, after its last SYN at t: the rest of the
 * attempt), and the next one's first SYN follows the wait and the ramp. It
 * may end sooner (EHOSTUNREACH once the neighbour entry fails, as a cable
 * pull or a partition on the bridge makes it; ENETUNREACH at once), so the
 * longest interval plus a wait bounds that gap too. */
static double longest_syn_gap(const fl_model_config *c)
{
    double len = fmin(c->reconnect.attempt_s, SYN_GIVE_UP_S), t = 0, gap = 0;
    for (double step = SYN_RTO_S; t + step < len - 1e-9; step *= 2) {
        gap = fmax(gap, step + fl_model_timer_slack_s(step));
        t += step;
    }
    return fmax(gap, len - t) + c->reconnect.retry_delay_hi_s + c->reconnect.ramp_s + USER_TIMER_SLACK_S;
}

/* The client's own detection at one phase of a silent fault that heals. */
typedef struct death {
    double lo, hi;      /* it notices between lo and hi (hi INF: it may not) */
    double by_timer_lo; /* the earliest its own timer gives up (a ping unanswered), INF: never */
} death;

static bool heals(const fl_model_config *c) { return c->fault == FL_MF_SILENT && c->fault_duration_s > 0; }

static death client_death(const fl_model_config *c, const derived *d, const phase *ph)
{
    cand cs[MAX_CANDS];
    int n = fl_model__client_cands(c, d, ph, cs);
    death dt = { INF, INF, INF };
    for (int i = 0; i < n; i++) {
        dt.lo = fmin(dt.lo, cs[i].lo);
        if (!cs[i].maybe)
            dt.hi = fmin(dt.hi, cs[i].hi);
        if (cs[i].det == FL_DET_PING_TIMEOUT)
            dt.by_timer_lo = fmin(dt.by_timer_lo, cs[i].lo);
    }
    return dt;
}

/* A silent fault that heals: the client reconnects after noticing the death
 * itself (at this same phase), and its SYNs pass once the fault has healed. */
static bool after_heal(const fl_model_config *c, const death *dt, arrival *a)
{
    double heal = c->fault_duration_s;
    if (!c->reconnect.enabled || !(dt->lo < heal))
        return false; /* no reconnect, or it heals before the client can notice: it carries on */
    /* The wait and the connect ramp are user-space timers; the CONNECT (or
     * the reset a reused port provokes) reaches the broker a SYN, a SYN-ACK
     * and an ACK after the SYN left. */
    double first = dt->lo + c->reconnect.delay_lo_s;
    double last = dt->hi + c->reconnect.delay_hi_s + c->reconnect.ramp_s + 2 * USER_TIMER_SLACK_S;
    double handshake = 1.5 * c->rtt_s + USER_TIMER_SLACK_S;
    a->lo = fmax(heal, first) + handshake;
    /* An attempt that started during the fault lost its SYNs; the next one
     * leaves within the longest gap after the heal. */
    a->hi = (first >= heal ? last : fmax(last, heal + longest_syn_gap(c))) + handshake;
    a->sure = dt->hi <= heal; /* it surely noticed while the fault stood */
    return true;
}

static void add(cand *cs, int *n, fl_detector det, double lo, double hi, bool maybe)
{
    if (*n < MAX_CANDS)
        cs[(*n)++] = (cand){ det, lo, hi, maybe };
}

/* A client whose own timer gave up before the heal closed its socket with
 * the ping unacknowledged: its kernel keeps the orphan (FIN_WAIT1) and
 * retransmits the ping and the FIN, which pass once the fault heals. The
 * broker reads them and answers; the orphan, shut for reading, answers data
 * with RST (net/ipv4/tcp_input.c tcp_rcv_state_process, TCPAbortOnData) and
 * the broker closes with `reset` (`eof` if it acts on the FIN first). When
 * depends on the orphan's back-off (and it may have given up): maybe, from
 * the heal on, reconnect or not. */
static void add_orphan(const fl_model_config *c, const death *dt, cand *cs, int *n)
{
    if (dt->by_timer_lo < c->fault_duration_s)
        add(cs, n, FL_DET_RESET, c->fault_duration_s + 0.5 * c->rtt_s, INF, true);
}

int fl_model__reconnect_cands(const fl_model_config *c, const derived *d, const phase *ph, cand *cs, int n)
{
    if (c->reference != FL_REF_FAULT)
        return n;
    arrival a;
    bool back = after_reboot(c, &a);
    if (heals(c)) {
        death dt = client_death(c, d, ph);
        add_orphan(c, &dt, cs, &n);
        back = after_heal(c, &dt, &a);
    }
    if (!back)
        return n;
    bool takeover = c->broker.duplicate == FL_DUP_TAKEOVER;
    if (takeover)
        add(cs, &n, FL_DET_TAKEOVER, a.lo, a.hi, !a.sure);
    /* A reused port resets the ghost when the first SYN that passes arrives:
     * as early as a fresh port's CONNECT (that client's own CONNECT follows a
     * SYN retransmission, 1 s later, and finds the ghost gone). Which port the
     * stack picks is not known: maybe. With duplicates rejected, every retry
     * after a refused CONNECT may pick one, until the ghost is gone. */
    bool retries = !takeover && c->reconnect.enabled;
    add(cs, &n, FL_DET_RESET, a.lo, retries ? INF : a.hi, true);
    return n;
}
