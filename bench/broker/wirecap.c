/* flatline-bench-wirecap: the broker benchmark's wire measurement, taken
 * from a packet capture (libpcap, the kernel's timestamps in ns) on the
 * broker's interface rather than by the opener in user space, whose own read
 * delays would count. For every client connection to PORT it records when
 * the client's last segment with payload (its CONNECT: the openers go silent
 * after it; a retransmitted CONNECT counts when its last copy passed) and the
 * broker's first FIN (or RST) passed the interface. A client port used again
 * by a later connection (its SYN) starts a new record. On
 * SIGTERM/SIGINT it writes one line a connection, "client_port last_rx_ns
 * fin_ns" (0 when not seen; port 0 for a record its port's reuse ended), then "drops N" from pcap_stats, and exits.
 *
 * usage: flatline-bench-wirecap --port P --out FILE [--iface lo] */
#include <arpa/inet.h>
#include <getopt.h>
#include <netinet/ip.h>
#include <netinet/tcp.h>
#include <pcap/pcap.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct flow {
    uint64_t last_rx, fin;
} flow;

static flow flows[65536];
/* Flows whose client port was used again by a later connection of the run. */
static flow *done;
static size_t ndone, done_cap;

static void retire(uint16_t p)
{
    if (!flows[p].last_rx && !flows[p].fin)
        return;
    if (ndone == done_cap) {
        size_t cap = done_cap ? done_cap * 2 : 1024;
        flow *d = realloc(done, cap * sizeof *d);
        if (!d)
            return;
        done = d;
        done_cap = cap;
    }
    done[ndone++] = flows[p];
    flows[p] = (flow){ 0, 0 };
}
static volatile sig_atomic_t stop;
static pcap_t *pc;
static uint16_t port;
static int linktype;

static void on_signal(int sig)
{
    (void)sig;
    stop = 1;
    if (pc)
        pcap_breakloop(pc);
}

static void on_packet(u_char *user, const struct pcap_pkthdr *h, const u_char *bytes)
{
    (void)user;
    size_t off = linktype == DLT_EN10MB ? 14 : linktype == DLT_NULL ? 4 : linktype == DLT_LINUX_SLL ? 16 : 0;
    if (h->caplen < off + sizeof(struct iphdr))
        return;
    const struct iphdr *ip = (const struct iphdr *)(bytes + off);
    if (ip->version != 4 || ip->protocol != IPPROTO_TCP)
        return;
    size_t ihl = (size_t)ip->ihl * 4;
    if (h->caplen < off + ihl + sizeof(struct tcphdr))
        return;
    const struct tcphdr *tcp = (const struct tcphdr *)(bytes + off + ihl);
    size_t payload = ntohs(ip->tot_len) - ihl - (size_t)tcp->doff * 4;
    /* PCAP_TSTAMP_PRECISION_NANO: tv_usec holds nanoseconds. */
    uint64_t t = (uint64_t)h->ts.tv_sec * 1000000000u + (uint64_t)h->ts.tv_usec;
    uint16_t sport = ntohs(tcp->source), dport = ntohs(tcp->dest);
    if (dport == port && tcp->syn && !tcp->ack) {
        retire(sport); /* a new connection from a port used before */
    } else if (dport == port && payload > 0) {
        flows[sport].last_rx = t;
    } else if (sport == port && (tcp->fin || tcp->rst) && !flows[dport].fin) {
        flows[dport].fin = t;
    }
}

int main(int argc, char **argv)
{
    const char *iface = "lo", *out = NULL;
    static const struct option opts[] = { { "port", required_argument, 0, 'p' },
                                          { "out", required_argument, 0, 'o' },
                                          { "iface", required_argument, 0, 'i' },
                                          { 0, 0, 0, 0 } };
    int o;
    while ((o = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        if (o == 'p')
            port = (uint16_t)atoi(optarg);
        else if (o == 'o')
            out = optarg;
        else if (o == 'i')
            iface = optarg;
        else
            return 2;
    }
    if (!port || !out) {
        fprintf(stderr, "usage: flatline-bench-wirecap --port P --out FILE [--iface lo]\n");
        return 2;
    }
    char err[PCAP_ERRBUF_SIZE];
    pc = pcap_create(iface, err);
    if (!pc) {
        fprintf(stderr, "wirecap: %s\n", err);
        return 1;
    }
    pcap_set_snaplen(pc, 96);
    pcap_set_immediate_mode(pc, 1);
    pcap_set_buffer_size(pc, 256 << 20);
    pcap_set_tstamp_precision(pc, PCAP_TSTAMP_PRECISION_NANO);
    if (pcap_activate(pc) < 0) {
        fprintf(stderr, "wirecap: %s\n", pcap_geterr(pc));
        return 1;
    }
    linktype = pcap_datalink(pc);
    char filter[64];
    snprintf(filter, sizeof filter, "tcp port %u", port);
    struct bpf_program prog;
    if (pcap_compile(pc, &prog, filter, 1, PCAP_NETMASK_UNKNOWN) < 0 || pcap_setfilter(pc, &prog) < 0) {
        fprintf(stderr, "wirecap: %s\n", pcap_geterr(pc));
        return 1;
    }
    signal(SIGTERM, on_signal);
    signal(SIGINT, on_signal);
    printf("capturing\n");
    fflush(stdout);
    while (!stop) {
        int r = pcap_dispatch(pc, -1, on_packet, NULL);
        if (r == PCAP_ERROR) {
            fprintf(stderr, "wirecap: %s\n", pcap_geterr(pc));
            break;
        }
    }
    struct pcap_stat st = { 0 };
    pcap_stats(pc, &st);
    FILE *f = fopen(out, "w");
    if (!f)
        return 1;
    for (size_t i = 0; i < ndone; i++)
        fprintf(f, "0 %llu %llu\n", (unsigned long long)done[i].last_rx, (unsigned long long)done[i].fin);
    for (unsigned p = 0; p < 65536; p++)
        if (flows[p].last_rx || flows[p].fin)
            fprintf(f, "%u %llu %llu\n", p, (unsigned long long)flows[p].last_rx, (unsigned long long)flows[p].fin);
    fprintf(f, "drops %u %u\n", st.ps_drop, st.ps_ifdrop);
    fclose(f);
    pcap_close(pc);
    return 0;
}
