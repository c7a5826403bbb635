/* Heartbeat overhead: the capture's classifier on hand-built Ethernet frames
 * (PINGREQ, PINGRESP, their ACKs, keep-alive probes with seq - 1 and their
 * answers, ordinary data, FIN), and the analysis that sums it over the
 * connections no fault touched. No sockets, no namespaces. */
#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <pcap/pcap.h>
#include <string.h>

#include "harness/analysis/analyze.h"
#include "harness/wire/capture.h"

#define BROKER "198.18.0.1"
#define CLIENT "198.18.1.2"
enum { PORT = 1883, CPORT = 40312, ETH = 14, IP = 20, TCP = 32 /* with timestamps, as Linux sends */ };
enum { FIN = 0x01, SYN = 0x02, RST = 0x04, PSH = 0x08, ACK = 0x10 };

typedef struct wire {
    uint32_t broker_be;
    fl_hb_state st;
} wire;

/* An Ethernet frame of one segment; returns its length. */
static size_t frame(uint8_t *buf, bool from_broker, uint32_t seq, uint8_t flags, const uint8_t *payload, size_t n)
{
    memset(buf, 0, ETH + IP + TCP + n);
    buf[12] = 0x08; /* IPv4 */
    uint8_t *ip = buf + ETH, *tcp = ip + IP;
    size_t total = IP + TCP + n;
    ip[0] = 0x45;
    ip[2] = (uint8_t)(total >> 8), ip[3] = (uint8_t)total;
    ip[9] = 6;
    inet_pton(AF_INET, from_broker ? BROKER : CLIENT, ip + 12);
    inet_pton(AF_INET, from_broker ? CLIENT : BROKER, ip + 16);
    uint16_t sport = from_broker ? PORT : CPORT, dport = from_broker ? CPORT : PORT;
    tcp[0] = (uint8_t)(sport >> 8), tcp[1] = (uint8_t)sport;
    tcp[2] = (uint8_t)(dport >> 8), tcp[3] = (uint8_t)dport;
    tcp[4] = (uint8_t)(seq >> 24), tcp[5] = (uint8_t)(seq >> 16), tcp[6] = (uint8_t)(seq >> 8), tcp[7] = (uint8_t)seq;
    tcp[12] = (TCP / 4) << 4;
    tcp[13] = flags;
    if (n)
        memcpy(tcp + TCP, payload, n);
    return ETH + IP + TCP + n;
}

/* Decodes and classifies one segment on w's connection. */
static fl_hb_kind seg(wire *w, bool from_broker, uint32_t seq, uint8_t flags, const uint8_t *payload, size_t n,
                      uint32_t *wire_bytes)
{
    uint8_t buf[256];
    size_t len = frame(buf, from_broker, seq, flags, payload, n);
    fl_segment s;
    cr_assert(fl_capture_decode(DLT_EN10MB, buf, len, len, w->broker_be, PORT, &s));
    cr_assert_eq(s.from_broker, from_broker);
    cr_assert_eq(s.client_port, CPORT);
    cr_assert_eq(s.payload_len, n);
    cr_assert_eq(s.seq, seq);
    if (wire_bytes)
        *wire_bytes = s.wire_bytes;
    return fl_capture_classify(&w->st, &s);
}

static const uint8_t pingreq[] = { 0xC0, 0x00 }, pingresp[] = { 0xD0, 0x00 };
static const uint8_t connect_pkt[14] = { 0x10, 12 }, connack[] = { 0x20, 2, 0, 0 };
static const uint8_t publish[9] = { 0x30, 7, 0, 1, 't', 'h', 'i', 'd', 'x' };

static wire new_wire(void)
{
    wire w = { 0 };
    inet_pton(AF_INET, BROKER, &w.broker_be);
    return w;
}

/* Handshake and MQTT CONNECT; afterwards client seq 1015, broker seq 5005. */
static void open_connection(wire *w)
{
    cr_expect_eq(seg(w, false, 1000, SYN, NULL, 0, NULL), FL_HB_OTHER);
    cr_expect_eq(seg(w, true, 5000, SYN | ACK, NULL, 0, NULL), FL_HB_OTHER);
    cr_expect_eq(seg(w, false, 1001, ACK, NULL, 0, NULL), FL_HB_OTHER);
    cr_expect_eq(seg(w, false, 1001, ACK | PSH, connect_pkt, sizeof connect_pkt, NULL), FL_HB_OTHER);
    cr_expect_eq(seg(w, true, 5001, ACK | PSH, connack, sizeof connack, NULL), FL_HB_OTHER);
    cr_expect_eq(seg(w, false, 1015, ACK, NULL, 0, NULL), FL_HB_OTHER, "an ACK of data is no heartbeat");
}

Test(heartbeats, ping_exchange_is_three_packets_of_202_bytes)
{
    wire w = new_wire();
    open_connection(&w);
    uint32_t b1, b2, b3;
    cr_expect_eq(seg(&w, false, 1015, ACK | PSH, pingreq, 2, &b1), FL_HB_PINGREQ);
    cr_expect_eq(seg(&w, true, 5005, ACK | PSH, pingresp, 2, &b2), FL_HB_PINGRESP);
    cr_expect_eq(seg(&w, false, 1017, ACK, NULL, 0, &b3), FL_HB_MQTT_ACK);
    cr_expect_eq(b1, 68);
    cr_expect_eq(b2, 68);
    cr_expect_eq(b3, 66);
    /* only the ACK directly after the heartbeat answers it */
    cr_expect_eq(seg(&w, false, 1017, ACK, NULL, 0, NULL), FL_HB_OTHER);
    cr_expect_eq(seg(&w, true, 5007, ACK, NULL, 0, NULL), FL_HB_OTHER);
}

Test(heartbeats, keepalive_probe_is_seq_minus_one_and_its_answer)
{
    wire w = new_wire();
    open_connection(&w);
    /* the broker probes with snd_una - 1 = 5004, no payload */
    cr_expect_eq(seg(&w, true, 5004, ACK, NULL, 0, NULL), FL_HB_PROBE);
    cr_expect_eq(seg(&w, false, 1015, ACK, NULL, 0, NULL), FL_HB_PROBE_ACK);
    /* a client probing with one byte at 1014 (some stacks send garbage) */
    uint8_t junk = 0;
    cr_expect_eq(seg(&w, false, 1014, ACK, &junk, 1, NULL), FL_HB_PROBE);
    cr_expect_eq(seg(&w, true, 5005, ACK, NULL, 0, NULL), FL_HB_PROBE_ACK);
    /* a plain ACK at the current sequence is no probe */
    cr_expect_eq(seg(&w, true, 5005, ACK, NULL, 0, NULL), FL_HB_OTHER);
}

Test(heartbeats, data_fin_and_lookalikes_are_not_heartbeats)
{
    wire w = new_wire();
    open_connection(&w);
    cr_expect_eq(seg(&w, false, 1015, ACK | PSH, publish, sizeof publish, NULL), FL_HB_OTHER);
    cr_expect_eq(seg(&w, true, 5005, ACK, NULL, 0, NULL), FL_HB_OTHER, "the ACK of a PUBLISH");
    /* PINGREQ bytes from the broker, PINGRESP bytes from the client: wrong way round */
    cr_expect_eq(seg(&w, true, 5005, ACK | PSH, pingreq, 2, NULL), FL_HB_OTHER);
    cr_expect_eq(seg(&w, false, 1024, ACK | PSH, pingresp, 2, NULL), FL_HB_OTHER);
    /* a PINGREQ inside a longer segment is not one on its own */
    uint8_t two[4] = { 0xC0, 0x00, 0xC0, 0x00 };
    cr_expect_eq(seg(&w, false, 1026, ACK | PSH, two, 4, NULL), FL_HB_OTHER);
    cr_expect_eq(seg(&w, true, 5007, FIN | ACK, NULL, 0, NULL), FL_HB_OTHER);
    cr_expect_eq(seg(&w, false, 1030, FIN | ACK, NULL, 0, NULL), FL_HB_OTHER);
    cr_expect_eq(seg(&w, true, 5008, ACK, NULL, 0, NULL), FL_HB_OTHER);
    cr_expect_eq(seg(&w, true, 5008, RST, NULL, 0, NULL), FL_HB_OTHER);
}

Test(heartbeats, probe_across_the_sequence_wrap)
{
    wire w = new_wire();
    cr_expect_eq(seg(&w, true, 0xFFFFFFFF, SYN | ACK, NULL, 0, NULL), FL_HB_OTHER);
    cr_expect_eq(seg(&w, true, 0, ACK | PSH, connack, sizeof connack, NULL), FL_HB_OTHER);
    cr_expect_eq(seg(&w, true, 3, ACK, NULL, 0, NULL), FL_HB_PROBE);
    w = new_wire();
    cr_expect_eq(seg(&w, true, 0xFFFFFFFE, ACK | PSH, connack, sizeof connack, NULL), FL_HB_OTHER);
    cr_expect_eq(seg(&w, true, 0xFFFFFFFA, ACK | PSH, connack, sizeof connack, NULL), FL_HB_OTHER,
                 "an older segment does not move the sequence end back");
    cr_expect_eq(seg(&w, true, 1, ACK, NULL, 0, NULL), FL_HB_PROBE);
}

Test(heartbeats, decode_counts_wire_bytes_as_ethernet_and_ignores_other_ports)
{
    uint8_t buf[256];
    uint32_t broker;
    inet_pton(AF_INET, BROKER, &broker);
    size_t len = frame(buf, false, 1, ACK | PSH, pingreq, 2);
    fl_segment s;
    /* the same packet as "any" sees it: a 16-byte cooked header instead of 14 */
    uint8_t sll[256] = { 0 };
    memcpy(sll + 16, buf + ETH, len - ETH);
    cr_assert(fl_capture_decode(DLT_LINUX_SLL, sll, len + 2, len + 2, broker, PORT, &s));
    cr_expect_eq(s.wire_bytes, 68);
    cr_expect_eq(s.payload[0], 0xC0);
    char host[INET_ADDRSTRLEN];
    inet_ntop(AF_INET, &s.client_be, host, sizeof host);
    cr_expect_str_eq(host, CLIENT);
    /* snapped short: still decoded, length from the IP header */
    cr_assert(fl_capture_decode(DLT_EN10MB, buf, ETH + IP + TCP, 1000, broker, PORT, &s));
    cr_expect_eq(s.payload_len, 2);
    cr_expect_eq(s.wire_bytes, 1000);
    cr_expect_not(fl_capture_decode(DLT_EN10MB, buf, len, len, broker, 8883, &s), "another port");
    cr_expect_not(fl_capture_decode(DLT_EN10MB, buf, ETH + IP + 10, len, broker, PORT, &s), "truncated");
}

static void add(fl_analysis *a, const char *fmt, const char *id, const char *conn, long t)
{
    char line[256];
    snprintf(line, sizeof line, fmt, t, conn, id);
    json_error_t err;
    json_t *ev = json_loads(line, 0, &err);
    cr_assert_not_null(ev, "%s: %s", line, err.text);
    cr_assert_eq(fl_analysis_add(a, ev), 0);
    json_decref(ev);
}

#define CONNECT "{\"t\":%ld,\"src\":\"broker\",\"ev\":\"connect\",\"conn\":\"%s\",\"client_id\":\"%s\"}"
#define CONNECTED "{\"t\":%ld,\"src\":\"swarm\",\"ev\":\"connected\",\"conn\":\"%s\",\"client_id\":\"%s\"}"
#define CLOSE "{\"t\":%ld,\"src\":\"broker\",\"ev\":\"close\",\"conn\":\"%s\",\"client_id\":\"%s\",\"reason\":\"x\"}"

Test(heartbeats, overhead_only_over_connections_no_fault_touched)
{
    const uint64_t H = UINT64_C(3600000000000); /* an hour in ns */
    fl_analysis *a = fl_analysis_new();
    add(a, CONNECT, "cut", "198.18.1.1:1000", 0);
    add(a, CONNECTED, "cut", "198.18.1.1:1000", 0);
    add(a, CONNECT, "idle", "198.18.2.1:2000", 0);
    add(a, CONNECTED, "idle", "198.18.2.1:2000", 0);
    /* behind a NAT: the broker's conn is the one on its wire */
    add(a, CONNECT, "nat", "198.18.0.10:7000", (long)(H / 2));
    add(a, CONNECTED, "nat", "100.64.1.1:5000", (long)(H / 2));
    /* closed by the broker at half an hour, no fault: counts until then */
    add(a, CONNECT, "short", "198.18.2.1:2001", 0);
    add(a, CONNECTED, "short", "198.18.2.1:2001", 0);
    add(a, CLOSE, "short", "198.18.2.1:2001", (long)(H / 2));

    static const char *const cut[] = { "198.18.1.1" };
    fl_truth truth = { .kind = "cable-pull", .target = "x", .inject_ns = 1000, .addrs = cut, .naddrs = 1,
                       .broker_side = true, .client_side = true };
    fl_report *r = fl_report_new();
    cr_assert_eq(fl_analysis_report(a, &truth, 1, 0, H, r), 0);

    /* no heartbeat times: each counts its whole time */
    fl_conn_heartbeats counted[] = {
        { .conn = "198.18.1.1:1000", 999, 999, 999, 999 }, /* the cut one's probes into the void */
        { .conn = "198.18.2.1:2000", 3600, 242400, 10, 660 },
        { .conn = "198.18.0.10:7000", 1800, 121200, 0, 0 },
        { .conn = "198.18.2.1:2001", 1800, 121200, 2, 132 },
    };
    fl_idle_overhead o;
    fl_analysis_idle_overhead(a, counted, 4, H, &o);
    cr_expect_eq(o.connections, 3);
    cr_expect_float_eq(o.connection_hours, 2.0, 1e-9);
    cr_expect_float_eq(o.mqtt_packets, 7200, 1e-9);
    cr_expect_float_eq(o.mqtt_bytes, 484800, 1e-9);
    cr_expect_float_eq(o.tcp_packets, 12, 1e-9);
    cr_expect_float_eq(o.tcp_bytes, 792, 1e-9);

    /* every connection touched: nothing to measure over */
    static const char *const all[] = { "198.18.1.1", "198.18.2.1", "100.64.1.1" };
    fl_analysis *b = fl_analysis_new();
    add(b, CONNECT, "cut", "198.18.1.1:1000", 0);
    add(b, CONNECTED, "cut", "198.18.1.1:1000", 0);
    truth.addrs = all;
    truth.naddrs = 3;
    fl_report *r2 = fl_report_new();
    cr_assert_eq(fl_analysis_report(b, &truth, 1, 0, H, r2), 0);
    fl_analysis_idle_overhead(b, counted, 4, H, &o);
    cr_expect_eq(o.connections, 0);
    cr_expect_eq(o.connection_hours, 0);
    cr_expect_eq(o.mqtt_packets, 0);
    cr_expect_not_null(fl_idle_overhead_unmeasured(&o, true), "nothing measured, yet a figure");
    cr_expect_not_null(fl_idle_overhead_unmeasured(&o, false));
    fl_analysis_idle_overhead(a, counted, 4, H, &o);
    cr_expect_null(fl_idle_overhead_unmeasured(&o, true));

    /* a standing NAT cut the reconnection too: touched, so still nothing to
     * measure over (it would have counted as 0 packets of an idle connection) */
    fl_analysis *c = fl_analysis_new();
    add(c, CONNECT, "n", "198.18.0.10:7000", 0);
    add(c, CONNECTED, "n", "100.64.1.1:5000", 0);
    add(c, CLOSE, "n", "198.18.0.10:7000", (long)(H / 4));
    add(c, CONNECT, "n", "198.18.0.10:7001", (long)(H / 4 + 1000));
    add(c, CONNECTED, "n", "100.64.1.1:5001", (long)(H / 4 + 1000));
    add(c, CLOSE, "n", "198.18.0.10:7001", (long)(H / 2));
    static const char *const nat[] = { "100.64.1.1" };
    fl_truth standing = { .kind = "nat-expiry", .target = "cgnat", .inject_ns = 1000, .addrs = nat, .naddrs = 1,
                          .broker_side = true, .client_side = true, .nat_timeout_ns = 1000 };
    fl_report *r3 = fl_report_new();
    cr_assert_eq(fl_analysis_report(c, &standing, 1, 0, H, r3), 0);
    fl_analysis_idle_overhead(c, counted, 4, H, &o);
    cr_expect_eq(o.connections, 0);
    cr_expect_not_null(fl_idle_overhead_unmeasured(&o, true));
    char err[200];
    double fds = -1;
    cr_assert_geq(fl_report_finish(r3, err, sizeof err), 0, "%s", err);
    cr_assert_eq(fl_report_metric(r3, "false_disconnects", &fds, err, sizeof err), 0, "%s", err);
    cr_expect_eq(fds, 0);
    fl_report_free(r3);
    fl_analysis_free(c);

    fl_report_free(r);
    fl_report_free(r2);
    fl_analysis_free(a);
    fl_analysis_free(b);
}

static void add_in(fl_analysis *a, const char *group, const char *id, const char *conn, long t)
{
    json_t *ev = json_pack("{s:I, s:s, s:s, s:s, s:s, s:s}", "t", (json_int_t)t, "src", "swarm", "ev", "connected",
                           "conn", conn, "client_id", id, "group", group);
    cr_assert_not_null(ev);
    cr_assert_eq(fl_analysis_add(a, ev), 0);
    json_decref(ev);
}

/* Each group's untouched connection-hours: what weighs its model overhead
 * when groups with different keep-alives share a run. */
Test(heartbeats, idle_hours_per_group)
{
    const uint64_t H = UINT64_C(3600000000000);
    fl_analysis *a = fl_analysis_new();
    add_in(a, "fast", "f1", "198.18.1.1:1000", 0);
    add_in(a, "fast", "f2", "198.18.1.1:1001", (long)(H / 2));
    add_in(a, "slow", "s1", "198.18.2.1:2000", 0);
    add_in(a, "slow", "s2", "198.18.3.1:3000", 0); /* cut: not idle overhead */
    static const char *const cut[] = { "198.18.3.1" };
    fl_truth truth = { .kind = "power-loss", .target = "x", .inject_ns = 1000, .addrs = cut, .naddrs = 1,
                       .broker_side = true };
    fl_report *r = fl_report_new();
    cr_assert_eq(fl_analysis_report(a, &truth, 1, 0, H, r), 0);
    cr_expect_float_eq(fl_analysis_idle_hours(a, NULL, 0, "fast", H), 1.5, 1e-9);
    cr_expect_float_eq(fl_analysis_idle_hours(a, NULL, 0, "slow", H), 1.0, 1e-9);
    cr_expect_float_eq(fl_analysis_idle_hours(a, NULL, 0, "none", H), 0, 1e-12);
    fl_report_free(r);
    fl_analysis_free(a);
}

Test(heartbeats, report_carries_parts_or_the_reason)
{
    fl_overhead model = { .packets_per_hour = 3600, .bytes_per_hour = 242400, .mqtt_packets_per_hour = 3600,
                          .mqtt_bytes_per_hour = 242400 };
    fl_report *r = fl_report_new();
    fl_report_set_overhead(r, 7212, 485592, 2.0, &model);
    fl_report_set_overhead_parts(r, 7200, 484800, 12, 792, 3);
    char err[200];
    cr_assert_geq(fl_report_finish(r, err, sizeof err), 0, "%s", err);
    double v;
    cr_assert_eq(fl_report_metric(r, "overhead.mqtt_packets_per_conn_hour", &v, err, sizeof err), 0, "%s", err);
    cr_expect_float_eq(v, 3600, 1e-9);
    cr_assert_eq(fl_report_metric(r, "overhead.tcp_bytes_per_conn_hour", &v, err, sizeof err), 0, "%s", err);
    cr_expect_float_eq(v, 396, 1e-9);
    cr_assert_eq(fl_report_metric(r, "overhead.connections", &v, err, sizeof err), 0, "%s", err);
    cr_expect_eq(v, 3);
    json_t *j = fl_report_to_json(r);
    json_t *oh = json_object_get(j, "overhead");
    cr_expect_float_eq(json_real_value(json_object_get(json_object_get(oh, "mqtt"), "bytes_per_conn_hour")), 242400,
                       1e-9);
    cr_expect_null(json_object_get(oh, "reason"));
    json_decref(j);
    fl_report_free(r);

    r = fl_report_new();
    fl_report_set_overhead_unmeasured(r, "every connection was touched by a fault", &model);
    cr_assert_geq(fl_report_finish(r, err, sizeof err), 0, "%s", err);
    j = fl_report_to_json(r);
    oh = json_object_get(j, "overhead");
    cr_expect_str_eq(json_string_value(json_object_get(oh, "reason")), "every connection was touched by a fault");
    cr_expect(json_is_null(json_object_get(oh, "packets_per_conn_hour")));
    cr_expect_float_eq(json_real_value(json_object_get(json_object_get(oh, "model"), "packets_per_conn_hour")), 3600,
                       1e-9);
    json_decref(j);
    fl_report_free(r);
}

/* ---- whole heartbeat cycles ---- */

static const uint64_t S = UINT64_C(1000000000); /* a second in ns */

/* One segment on w's connection, counted into hb at t. */
static void count(wire *w, fl_conn_heartbeats *hb, uint64_t t, bool from_broker, uint32_t seq, uint8_t flags,
                  const uint8_t *payload, size_t n)
{
    uint8_t buf[256];
    size_t len = frame(buf, from_broker, seq, flags, payload, n);
    fl_segment s;
    cr_assert(fl_capture_decode(DLT_EN10MB, buf, len, len, w->broker_be, PORT, &s));
    fl_capture_count(hb, &w->st, &s, t);
}

/* A ping exchange at t: PINGREQ, PINGRESP, the client's ACK; seqs advance. */
static void exchange(wire *w, fl_conn_heartbeats *hb, uint64_t t, uint32_t *cseq, uint32_t *bseq)
{
    count(w, hb, t, false, *cseq, ACK | PSH, pingreq, 2);
    count(w, hb, t + 100000, true, *bseq, ACK | PSH, pingresp, 2);
    *cseq += 2;
    *bseq += 2;
    count(w, hb, t + 200000, false, *cseq, ACK, NULL, 0);
}

/* The broker's keep-alive probe at t and the client's answer. */
static void probe(wire *w, fl_conn_heartbeats *hb, uint64_t t, uint32_t cseq, uint32_t bseq)
{
    count(w, hb, t, true, bseq - 1, ACK, NULL, 0);
    count(w, hb, t + 100000, false, cseq, ACK, NULL, 0);
}

/* The capture notes when each heartbeat came, and the tcp count as it stood
 * at the last PINGREQ: a probe after it is in the total, not in that count. */
Test(heartbeats, capture_notes_when_heartbeats_came)
{
    wire w = new_wire();
    open_connection(&w);
    fl_conn_heartbeats hb = { .conn = CLIENT ":40312" };
    uint32_t cseq = 1015, bseq = 5005;
    for (uint64_t k = 1; k <= 2; k++) {
        probe(&w, &hb, (6 * k - 4) * S, cseq, bseq);
        probe(&w, &hb, (6 * k - 2) * S, cseq, bseq);
        exchange(&w, &hb, 6 * k * S, &cseq, &bseq);
    }
    probe(&w, &hb, 14 * S, cseq, bseq);
    cr_expect_eq(hb.ping_ns[0], 12 * S);
    cr_expect_eq(hb.ping_ns[1], 6 * S);
    cr_expect_eq(hb.probe_ns[0], 14 * S);
    cr_expect_eq(hb.probe_ns[1], 10 * S);
    cr_expect_eq(hb.mqtt_packets, 6);
    cr_expect_eq(hb.tcp_packets, 10);
    cr_expect_eq(hb.tcp_packets_at_ping, 8, "the four probes and answers before the last PINGREQ");
    cr_expect_eq(hb.tcp_bytes_at_ping, 8 * 66);
}

/* A connection's wire entry with pings every period from up + period while
 * they are before end, as a client with that Keep Alive sends them. */
static fl_conn_heartbeats pinging(const char *conn, uint64_t up, uint64_t period, uint64_t end)
{
    fl_conn_heartbeats hb = { .conn = "" };
    snprintf(hb.conn, sizeof hb.conn, "%s", conn);
    for (uint64_t t = up + period; t <= end; t += period) {
        hb.ping_ns[1] = hb.ping_ns[0];
        hb.ping_ns[0] = t;
        hb.mqtt_packets += 3;
        hb.mqtt_bytes += 202;
    }
    return hb;
}

static fl_analysis *connected(const char *const *conns, const uint64_t *up, size_t n, uint64_t end)
{
    fl_analysis *a = fl_analysis_new();
    for (size_t i = 0; i < n; i++) {
        char id[16];
        snprintf(id, sizeof id, "c%zu", i);
        add(a, CONNECT, id, conns[i], (long)up[i]);
        add(a, CONNECTED, id, conns[i], (long)up[i]);
    }
    static const char *const elsewhere[] = { "198.18.9.9" };
    fl_truth truth = { .kind = "cable-pull", .target = "x", .inject_ns = 1000, .addrs = elsewhere, .naddrs = 1,
                       .broker_side = true, .client_side = true };
    fl_report *r = fl_report_new();
    cr_assert_eq(fl_analysis_report(a, &truth, 1, 0, end, r), 0);
    fl_report_free(r);
    return a;
}

/* quickstart with its connects spread over a Keep Alive of 3 s: up at 0, 1
 * and 2 s, counted until 14.1 s. Each sent 4 PINGREQs (at up + 3, 6, 9, 12 s)
 * and is in the 5th period at the end. Over whole cycles that is 3 packets
 * every 3 s, the model's 3600 an hour; over each one's whole time it would be
 * 36 packets in 39.3 s, 3297 an hour. */
Test(heartbeats, overhead_counts_whole_heartbeat_cycles)
{
    static const char *const conns[] = { "198.18.2.1:2000", "198.18.2.1:2001", "198.18.2.1:2002" };
    const uint64_t up[] = { 0, 1 * S, 2 * S }, end = 14100 * S / 1000;
    fl_analysis *a = connected(conns, up, 3, end);
    fl_conn_heartbeats hb[3];
    for (size_t i = 0; i < 3; i++)
        hb[i] = pinging(conns[i], up[i], 3 * S, end);
    fl_idle_overhead o;
    fl_analysis_idle_overhead(a, hb, 3, end, &o);
    cr_expect_eq(o.connections, 3);
    cr_expect_float_eq(o.mqtt_packets, 36, 1e-9);
    cr_expect_float_eq(o.connection_hours * 3600, 36, 1e-9, "hours %.9f", o.connection_hours);
    cr_expect_float_eq(o.mqtt_packets / o.connection_hours, 3600, 1e-6);
    cr_expect_float_eq(fl_analysis_idle_hours(a, hb, 3, NULL, end), o.connection_hours, 1e-12,
                       "the model's weights over the same hours");
    fl_analysis_free(a);
}

/* The tcp probes count until the last PINGREQ, like the hours (Go's 2 s
 * probes between 6 s pings: 2 probes a cycle); a silence longer than 1.5 of
 * the connection's cycles is a missed heartbeat and counts; a connection
 * with probes only ends at its last probe; one with no heartbeat counts its
 * whole time. */
Test(heartbeats, overhead_cycles_of_probes_and_missed_heartbeats)
{
    static const char *const conns[] = { "198.18.2.1:3000", "198.18.2.1:3001", "198.18.2.1:3002",
                                         "198.18.2.1:3003" };
    const uint64_t up[] = { 0, 0, 0, 0 }, end = 15 * S;
    fl_analysis *a = connected(conns, up, 4, end);
    fl_conn_heartbeats hb[4];
    /* pings at 6, 12; probes at 2, 4, 8, 10 and 14 s */
    hb[0] = pinging(conns[0], 0, 6 * S, end);
    hb[0].tcp_packets = 10, hb[0].tcp_bytes = 660;
    hb[0].tcp_packets_at_ping = 8, hb[0].tcp_bytes_at_ping = 528;
    hb[0].probe_ns[0] = 14 * S, hb[0].probe_ns[1] = 10 * S;
    /* pings at 3 and 6 s, then silence for 9 s: 6 packets over 15 s */
    hb[1] = pinging(conns[1], 0, 3 * S, 6 * S);
    /* probes only, every 2 s: the last at 14 s */
    hb[2] = (fl_conn_heartbeats){ .conn = "198.18.2.1:3002", .tcp_packets = 14, .tcp_bytes = 924,
                                    .probe_ns = { 14 * S, 12 * S } };
    /* nothing */
    hb[3] = (fl_conn_heartbeats){ .conn = "198.18.2.1:3003" };
    fl_idle_overhead o;
    fl_analysis_idle_overhead(a, hb, 4, end, &o);
    cr_expect_eq(o.connections, 4);
    cr_expect_float_eq(o.connection_hours * 3600, 12 + 15 + 14 + 15, 1e-9, "seconds %.9f", o.connection_hours * 3600);
    cr_expect_float_eq(o.mqtt_packets, 6 + 6, 1e-9);
    cr_expect_float_eq(o.tcp_packets, 8 + 14, 1e-9);
    cr_expect_float_eq(o.tcp_bytes, 528 + 924, 1e-9);
    fl_analysis_free(a);
}
