#include "capture.h"

#include <arpa/inet.h>
#include <pcap/pcap.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/clock.h"

struct fl_capture {
    pcap_t *pcap;
    pcap_dumper_t *dump;
    fl_loop *loop;
    int fd, dlt;
    uint32_t broker_be;
    uint16_t port;
    int64_t realtime_minus_mono; /* pcap stamps are CLOCK_REALTIME; events are monotonic */
    fl_capture_fn fn;
    void *arg;
};

typedef struct open_ctx {
    fl_capture *c;
    const char *filter;
    char *err;
    size_t errlen;
} open_ctx;

static int64_t realtime_minus_mono(void)
{
    struct timespec real;
    uint64_t mono = fl_now_ns();
    clock_gettime(CLOCK_REALTIME, &real);
    return (int64_t)real.tv_sec * 1000000000 + real.tv_nsec - (int64_t)mono;
}

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

json_t *fl_capture_parse(int dlt, const uint8_t *frame, size_t len, uint32_t broker_addr_be, uint16_t port,
                         uint64_t t_ns)
{
    size_t off;
    switch (dlt) {
    case DLT_LINUX_SLL: off = 16; break;
    case DLT_LINUX_SLL2: off = 20; break;
    case DLT_EN10MB: off = 14; break;
    case DLT_RAW: off = 0; break;
    default: return NULL;
    }
    if (len < off + 20 || (frame[off] >> 4) != 4 || frame[off + 9] != IPPROTO_TCP)
        return NULL;
    size_t ihl = (size_t)(frame[off] & 0x0f) * 4;
    const uint8_t *ip = frame + off, *tcp = ip + ihl;
    if (ihl < 20 || len < off + ihl + 14)
        return NULL;
    uint32_t src, dst;
    memcpy(&src, ip + 12, 4);
    memcpy(&dst, ip + 16, 4);
    uint16_t sport = (uint16_t)(tcp[0] << 8 | tcp[1]), dport = (uint16_t)(tcp[2] << 8 | tcp[3]);
    uint8_t flags = tcp[13];
    if (src != broker_addr_be || sport != port || !(flags & 0x05)) /* FIN 0x01, RST 0x04 */
        return NULL;
    char host[INET_ADDRSTRLEN], conn[64];
    inet_ntop(AF_INET, &dst, host, sizeof host);
    snprintf(conn, sizeof conn, "%s:%u", host, dport);
    return json_pack("{s:I, s:s, s:s, s:s}", "t", (json_int_t)t_ns, "src", "wire", "ev",
                     flags & 0x04 ? "broker_rst" : "broker_fin", "conn", conn);
}

static void on_packet(u_char *user, const struct pcap_pkthdr *h, const u_char *bytes)
{
    fl_capture *c = (fl_capture *)user;
    if (c->dump)
        pcap_dump((u_char *)c->dump, h, bytes);
    /* With nanosecond precision tv_usec holds nanoseconds. */
    int64_t real = (int64_t)h->ts.tv_sec * 1000000000 + h->ts.tv_usec;
    json_t *ev = fl_capture_parse(c->dlt, bytes, h->caplen, c->broker_be, c->port,
                                  (uint64_t)(real - c->realtime_minus_mono));
    if (ev) {
        c->fn(ev, c->arg);
        json_decref(ev);
    }
}

static void on_readable(fl_loop *loop, int fd, unsigned events, void *arg)
{
    (void)loop;
    (void)fd;
    (void)events;
    fl_capture *c = arg;
    pcap_dispatch(c->pcap, -1, on_packet, (u_char *)c);
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
    c->realtime_minus_mono = realtime_minus_mono();
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
        pcap_dispatch(c->pcap, -1, on_packet, (u_char *)c);
        fl_loop_remove(c->loop, c->fd);
    }
    if (c->dump)
        pcap_dump_close(c->dump);
    if (c->pcap)
        pcap_close(c->pcap);
    free(c);
}
