#include "harness/wire/capture.h"
#include "core/grow.h"

#include <arpa/inet.h>
#include <pcap/pcap.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/clock.h"

typedef struct conn_key {
    uint32_t addr_be;
    uint16_t port;
    fl_hb_state st;
} conn_key;

struct fl_capture {
    pcap_t *pcap;
    pcap_dumper_t *dump;
    fl_loop *loop;
    int fd, dlt;
    uint32_t broker_be;
    uint16_t port;
    /* pcap stamps are CLOCK_REALTIME, events monotonic: the offset is read
     * by dispatch() before every batch (nothing else calls on_packet), so a
     * step of the real-time clock misplaces one batch at most. */
    int64_t realtime_minus_mono;
    fl_capture_fn fn;
    void *arg;
    /* Heartbeat counts per connection: dense arrays, and an open-addressing
     * index over them keyed by the client's address and port (the broker's
     * side of every segment is the same). */
    fl_conn_heartbeats *hb;
    conn_key *keys;
    size_t nconns, capconns;
    uint32_t *slots; /* index + 1 into the dense arrays, 0: empty */
    size_t nslots;   /* a power of two, at most half full */
};

typedef struct open_ctx {
    fl_capture *c;
    const char *filter;
    char *err;
    size_t errlen;
} open_ctx;

/* Runs inside the broker's namespace: the packet socket is created there. */
static int open_in_namespace(void *arg)
{
    open_ctx *o = arg;
    char errbuf[PCAP_ERRBUF_SIZE] = "";
    pcap_t *p = pcap_create("any", errbuf);
    if (!p) {
        snprintf(o->err, o->errlen, "pcap: %s", errbuf);
        return -1;
    }
    pcap_set_snaplen(p, 256);
    pcap_set_timeout(p, 10);
    pcap_set_immediate_mode(p, 1);
    pcap_set_tstamp_precision(p, PCAP_TSTAMP_PRECISION_NANO);
    struct bpf_program prog;
    if (pcap_activate(p) < 0 || pcap_compile(p, &prog, o->filter, 1, PCAP_NETMASK_UNKNOWN) < 0) {
        snprintf(o->err, o->errlen, "pcap in the broker host: %s", pcap_geterr(p));
        pcap_close(p);
        return -1;
    }
    int rc = pcap_setfilter(p, &prog);
    pcap_freecode(&prog);
    if (rc < 0 || pcap_setnonblock(p, 1, errbuf) < 0) {
        snprintf(o->err, o->errlen, "pcap filter: %s", pcap_geterr(p));
        pcap_close(p);
        return -1;
    }
    o->c->pcap = p;
    return 0;
}

static size_t link_header(int dlt)
{
    switch (dlt) {
    case DLT_LINUX_SLL: return 16;
    case DLT_LINUX_SLL2: return 20;
    case DLT_EN10MB: return 14;
    case DLT_RAW: return 0;
    default: return SIZE_MAX;
    }
}

enum { ETHERNET_HEADER = 14, TCP_FIN = 0x01, TCP_SYN = 0x02, TCP_RST = 0x04, TCP_ACK = 0x10 };

bool fl_capture_decode(int dlt, const uint8_t *frame, size_t caplen, size_t wire_len, uint32_t broker_addr_be,
                       uint16_t port, fl_segment *out)
{
    size_t off = link_header(dlt);
    if (off == SIZE_MAX || caplen < off + 20 || (frame[off] >> 4) != 4 || frame[off + 9] != IPPROTO_TCP)
        return false;
    const uint8_t *ip = frame + off;
    size_t ihl = (size_t)(ip[0] & 0x0f) * 4;
    if (ihl < 20 || caplen < off + ihl + 20)
        return false;
    const uint8_t *tcp = ip + ihl;
    uint32_t src, dst;
    memcpy(&src, ip + 12, 4);
    memcpy(&dst, ip + 16, 4);
    uint16_t sport = (uint16_t)(tcp[0] << 8 | tcp[1]), dport = (uint16_t)(tcp[2] << 8 | tcp[3]);
    bool from_broker = src == broker_addr_be && sport == port;
    if (!from_broker && !(dst == broker_addr_be && dport == port))
        return false;
    size_t thl = (size_t)(tcp[12] >> 4) * 4, total = (size_t)(ip[2] << 8 | ip[3]);
    *out = (fl_segment){
        .client_be = from_broker ? dst : src,
        .client_port = from_broker ? dport : sport,
        .from_broker = from_broker,
        .flags = tcp[13],
        .seq = (uint32_t)tcp[4] << 24 | (uint32_t)tcp[5] << 16 | (uint32_t)tcp[6] << 8 | tcp[7],
        .payload_len = total >= ihl + thl ? (uint32_t)(total - ihl - thl) : 0,
        /* On veth the frame is Ethernet; "any" gives a cooked header instead. */
        .wire_bytes = (uint32_t)(wire_len >= off ? wire_len - off + ETHERNET_HEADER : wire_len),
    };
    size_t at = off + ihl + thl;
    for (size_t i = 0; i < 2 && i < out->payload_len && at + i < caplen; i++)
        out->payload[i] = frame[at + i];
    return true;
}

/* a after b, modulo 2^32 */
static bool seq_after(uint32_t a, uint32_t b) { return (int32_t)(a - b) > 0; }

fl_hb_kind fl_capture_classify(fl_hb_state *st, const fl_segment *seg)
{
    int side = seg->from_broker;
    uint8_t f = seg->flags;
    bool pure = (f & TCP_ACK) && !(f & (TCP_SYN | TCP_FIN | TCP_RST));
    fl_hb_kind kind = FL_HB_OTHER;
    if (pure && seg->payload_len <= 1 && st->have_seq[side] && seg->seq == st->seq_end[side] - 1)
        kind = FL_HB_PROBE; /* Linux probes with snd_una - 1: the peer must answer with an ACK */
    else if (pure && seg->payload_len == 2 && !side && seg->payload[0] == 0xC0 && seg->payload[1] == 0x00)
        kind = FL_HB_PINGREQ;
    else if (pure && seg->payload_len == 2 && side && seg->payload[0] == 0xD0 && seg->payload[1] == 0x00)
        kind = FL_HB_PINGRESP;
    else if (pure && seg->payload_len == 0 && st->pending != FL_HB_OTHER && st->pending_from_broker != seg->from_broker)
        kind = st->pending == FL_HB_PROBE ? FL_HB_PROBE_ACK : FL_HB_MQTT_ACK;
    uint32_t end = seg->seq + seg->payload_len + !!(f & TCP_SYN) + !!(f & TCP_FIN);
    if (!st->have_seq[side] || seq_after(end, st->seq_end[side])) {
        st->seq_end[side] = end;
        st->have_seq[side] = true;
    }
    bool awaits_ack = kind == FL_HB_PINGREQ || kind == FL_HB_PINGRESP || kind == FL_HB_PROBE;
    st->pending = awaits_ack ? kind : FL_HB_OTHER;
    st->pending_from_broker = seg->from_broker;
    return kind;
}

json_t *fl_capture_parse(int dlt, const uint8_t *frame, size_t len, uint32_t broker_addr_be, uint16_t port,
                         uint64_t t_ns)
{
    fl_segment seg;
    if (!fl_capture_decode(dlt, frame, len, len, broker_addr_be, port, &seg) || !seg.from_broker ||
        !(seg.flags & (TCP_FIN | TCP_RST)))
        return NULL;
    char host[INET_ADDRSTRLEN], conn[64];
    inet_ntop(AF_INET, &seg.client_be, host, sizeof host);
    snprintf(conn, sizeof conn, "%s:%u", host, seg.client_port);
    return json_pack("{s:I, s:s, s:s, s:s}", "t", (json_int_t)t_ns, "src", "wire", "ev",
                     seg.flags & TCP_RST ? "broker_rst" : "broker_fin", "conn", conn);
}

/* ---- per-connection heartbeat table ---- */

static size_t slot_of(uint32_t addr_be, uint16_t port, size_t nslots)
{
    uint64_t h = ((uint64_t)addr_be << 16 | port) * UINT64_C(0x9E3779B97F4A7C15);
    return (size_t)(h >> 32) & (nslots - 1);
}

static int rehash(fl_capture *c, size_t nslots)
{
    uint32_t *slots = calloc(nslots, sizeof *slots);
    if (!slots)
        return -1;
    for (size_t i = 0; i < c->nconns; i++) {
        size_t s = slot_of(c->keys[i].addr_be, c->keys[i].port, nslots);
        while (slots[s])
            s = (s + 1) & (nslots - 1);
        slots[s] = (uint32_t)i + 1;
    }
    free(c->slots);
    c->slots = slots;
    c->nslots = nslots;
    return 0;
}

/* The connection's index, added if new; -1 when out of memory. */
static long conn_index(fl_capture *c, uint32_t addr_be, uint16_t port)
{
    if (c->nslots) {
        for (size_t s = slot_of(addr_be, port, c->nslots); c->slots[s]; s = (s + 1) & (c->nslots - 1)) {
            const conn_key *k = &c->keys[c->slots[s] - 1];
            if (k->addr_be == addr_be && k->port == port)
                return (long)c->slots[s] - 1;
        }
    }
    /* Two arrays of one length: each grows to the same capacity. */
    size_t cap_hb = c->capconns, cap_keys = c->capconns;
    if (fl_grow(&c->hb, &cap_hb, c->nconns + 1, 256) < 0 || fl_grow(&c->keys, &cap_keys, c->nconns + 1, 256) < 0)
        return -1;
    c->capconns = cap_hb < cap_keys ? cap_hb : cap_keys;
    if (2 * (c->nconns + 1) > c->nslots && rehash(c, c->nslots ? c->nslots * 2 : 512) < 0)
        return -1;
    size_t i = c->nconns++;
    c->keys[i] = (conn_key){ .addr_be = addr_be, .port = port };
    fl_conn_heartbeats *hb = &c->hb[i];
    memset(hb, 0, sizeof *hb);
    char host[INET_ADDRSTRLEN];
    inet_ntop(AF_INET, &addr_be, host, sizeof host);
    snprintf(hb->conn, sizeof hb->conn, "%s:%u", host, port);
    size_t s = slot_of(addr_be, port, c->nslots);
    while (c->slots[s])
        s = (s + 1) & (c->nslots - 1);
    c->slots[s] = (uint32_t)i + 1;
    return (long)i;
}

void fl_capture_count(fl_conn_heartbeats *hb, fl_hb_state *st, const fl_segment *seg, uint64_t t_ns)
{
    switch (fl_capture_classify(st, seg)) {
    case FL_HB_PINGREQ:
        hb->ping_ns[1] = hb->ping_ns[0];
        hb->ping_ns[0] = t_ns;
        hb->tcp_packets_at_ping = hb->tcp_packets;
        hb->tcp_bytes_at_ping = hb->tcp_bytes;
        /* fall through */
    case FL_HB_PINGRESP:
    case FL_HB_MQTT_ACK:
        hb->mqtt_packets++;
        hb->mqtt_bytes += seg->wire_bytes;
        break;
    case FL_HB_PROBE:
        hb->probe_ns[1] = hb->probe_ns[0];
        hb->probe_ns[0] = t_ns;
        /* fall through */
    case FL_HB_PROBE_ACK:
        hb->tcp_packets++;
        hb->tcp_bytes += seg->wire_bytes;
        break;
    case FL_HB_OTHER: break;
    }
}

static void on_packet(u_char *user, const struct pcap_pkthdr *h, const u_char *bytes)
{
    fl_capture *c = (fl_capture *)user;
    if (c->dump)
        pcap_dump((u_char *)c->dump, h, bytes);
    fl_segment seg;
    if (!fl_capture_decode(c->dlt, bytes, h->caplen, h->len, c->broker_be, c->port, &seg))
        return;
    /* With nanosecond precision tv_usec holds nanoseconds. */
    int64_t real = (int64_t)h->ts.tv_sec * 1000000000 + h->ts.tv_usec;
    uint64_t t = (uint64_t)(real - c->realtime_minus_mono);
    long i = conn_index(c, seg.client_be, seg.client_port);
    if (i >= 0)
        fl_capture_count(&c->hb[i], &c->keys[i].st, &seg, t);
    if (!seg.from_broker || !(seg.flags & (TCP_FIN | TCP_RST)))
        return;
    json_t *ev = fl_capture_parse(c->dlt, bytes, h->caplen, c->broker_be, c->port, t);
    if (ev) {
        c->fn(ev, c->arg);
        json_decref(ev);
    }
}

/* Every segment waiting, with the clocks' offset as it is now. */
static void dispatch(fl_capture *c)
{
    c->realtime_minus_mono = fl_realtime_minus_mono(NULL);
    pcap_dispatch(c->pcap, -1, on_packet, (u_char *)c);
}

static void on_readable(fl_loop *loop, int fd, unsigned events, void *arg)
{
    (void)loop;
    (void)fd;
    (void)events;
    dispatch(arg);
}

fl_capture *fl_capture_open(fl_host *broker, const char *broker_addr, uint16_t port, const char *dir, fl_loop *loop,
                            fl_capture_fn fn, void *arg, char *err, size_t errlen)
{
    fl_capture *c = calloc(1, sizeof *c);
    if (!c)
        return NULL;
    c->loop = loop;
    c->port = port;
    c->fn = fn;
    c->arg = arg;
    c->fd = -1;
    inet_pton(AF_INET, broker_addr, &c->broker_be);
    char filter[64], nserr[256] = "";
    snprintf(filter, sizeof filter, "tcp port %u", port);
    open_ctx o = { c, filter, err, errlen };
    if (fl_host_run(broker, open_in_namespace, &o, nserr, sizeof nserr) != 0) {
        if (nserr[0])
            snprintf(err, errlen, "%s", nserr);
        free(c);
        return NULL;
    }
    c->dlt = pcap_datalink(c->pcap);
    if (dir) {
        char path[1024];
        snprintf(path, sizeof path, "%s/broker.pcap", dir);
        if (!(c->dump = pcap_dump_open(c->pcap, path))) {
            snprintf(err, errlen, "pcap: %s", pcap_geterr(c->pcap));
            fl_capture_close(c);
            return NULL;
        }
    }
    c->fd = pcap_get_selectable_fd(c->pcap);
    if (c->fd < 0 || fl_loop_add(loop, c->fd, FL_READ, on_readable, c) < 0) {
        snprintf(err, errlen, "pcap: no pollable descriptor");
        c->fd = -1;
        fl_capture_close(c);
        return NULL;
    }
    return c;
}

void fl_capture_close(fl_capture *c)
{
    if (!c)
        return;
    if (c->fd >= 0) {
        dispatch(c);
        fl_loop_remove(c->loop, c->fd);
    }
    if (c->dump)
        pcap_dump_close(c->dump);
    if (c->pcap)
        pcap_close(c->pcap);
    free(c->hb);
    free(c->keys);
    free(c->slots);
    free(c);
}

const fl_conn_heartbeats *fl_capture_heartbeats(fl_capture *c, size_t *n)
{
    if (c->fd >= 0)
        dispatch(c);
    *n = c->nconns;
    return c->hb;
}
