/* flatline-bench-opener: opens N MQTT connections at a given rate, sends
 * CONNECT with KeepAlive K, reads the CONNACK, then stays silent and waits for
 * the broker to give up on each connection. For every connection it records
 * when its last packet went out and when the broker's FIN (or RST) arrived:
 * the broker's detection overshoot seen from the wire, the same way for any
 * broker. Prints "ready N" when all are connected, writes one overshoot in ns
 * a line (fin - last_sent - grace x K) to --out, and exits when every
 * connection has ended or --timeout passed.
 *
 * usage: flatline-bench-opener --port P [--host 127.0.0.1] --count N
 *        --keepalive K [--grace 1.5] [--rate CONN_PER_S] [--version 4|5]
 *        [--id-prefix S] [--out FILE] [--timeout S] */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include "core/clock.h"
#include "core/loop.h"
#include "mqtt/mqtt.h"

typedef struct conn {
    int fd;
    uint8_t state; /* 0 connecting, 1 awaiting CONNACK, 2 silent, 3 ended */
    uint8_t rx_len;
    bool silent; /* reached the silent state: a measurement */
    uint8_t rx[8];
    uint64_t sent, ended;
} conn;

typedef struct opener {
    fl_loop *loop;
    struct sockaddr_in addr;
    conn *conns;
    int count, opened, connected, ended, failed;
    double rate;
    uint64_t start;
    uint16_t keepalive;
    double grace;
    mqtt_version version;
    const char *prefix;
    fl_timer pacer;
    bool ready_printed;
} opener;

static opener op;

static void check_ready(void)
{
    if (op.connected + op.failed == op.count && !op.ready_printed) {
        op.ready_printed = true;
        printf("ready %d\n", op.connected);
        fflush(stdout);
    }
}

static void end_conn(conn *c)
{
    if (c->state == 3)
        return;
    c->ended = fl_now_ns();
    c->silent = c->state == 2;
    if (!c->silent)
        op.failed++;
    c->state = 3;
    fl_loop_remove(op.loop, c->fd);
    close(c->fd);
    op.ended++;
    check_ready();
    if (op.ended == op.count)
        fl_loop_stop(op.loop);
}

static void send_connect(conn *c)
{
    char id[64];
    snprintf(id, sizeof id, "%s-%ld", op.prefix, (long)(c - op.conns));
    mqtt_packet p = { .type = MQTT_CONNECT };
    p.u.connect.version = op.version;
    p.u.connect.clean_session = true;
    p.u.connect.keep_alive = op.keepalive;
    p.u.connect.client_id = mqtt_cstr(id);
    uint8_t buf[128];
    size_t n = mqtt_encode(&p, op.version, buf, sizeof buf, NULL);
    c->sent = fl_now_ns();
    if (n == 0 || n > sizeof buf || send(c->fd, buf, n, MSG_NOSIGNAL) != (ssize_t)n) {
        end_conn(c);
        return;
    }
    c->state = 1;
    fl_loop_modify(op.loop, c->fd, FL_READ);
}

static void on_io(fl_loop *loop, int fd, unsigned events, void *arg)
{
    (void)loop;
    (void)fd;
    conn *c = arg;
    if (c->state == 0) {
        int err = 0;
        socklen_t len = sizeof err;
        getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len);
        if (err) {
            end_conn(c);
            return;
        }
        if (events & FL_WRITE)
            send_connect(c);
        return;
    }
    uint8_t buf[256];
    ssize_t n = recv(c->fd, buf, sizeof buf, 0);
    if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) {
        end_conn(c);
        return;
    }
    if (n < 0 || c->state != 1)
        return; /* silent: a v5 DISCONNECT before the FIN is ignored */
    size_t take = (size_t)n < sizeof c->rx - c->rx_len ? (size_t)n : sizeof c->rx - c->rx_len;
    memcpy(c->rx + c->rx_len, buf, take);
    c->rx_len = (uint8_t)(c->rx_len + take);
    size_t plen;
    mqtt_error e;
    if (c->rx_len >= 2 && (c->rx[0] != 0x20 || mqtt_frame(c->rx, c->rx_len, 0, &plen, &e) == MQTT_MALFORMED)) {
        end_conn(c);
        return;
    }
    if (c->rx_len >= 4 || (c->rx_len >= 2 && (size_t)c->rx[1] + 2 <= c->rx_len)) {
        if (c->rx[3] != 0) {
            end_conn(c);
            return;
        }
        c->state = 2;
        op.connected++;
        check_ready();
    }
}

static void open_one(void)
{
    conn *c = &op.conns[op.opened++];
    c->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (c->fd < 0) {
        c->state = 3;
        op.failed++;
        op.ended++;
        check_ready();
        return;
    }
    int on = 1;
    setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof on);
    if (connect(c->fd, (struct sockaddr *)&op.addr, sizeof op.addr) < 0 && errno != EINPROGRESS) {
        close(c->fd);
        c->state = 3;
        op.failed++;
        op.ended++;
        check_ready();
        return;
    }
    fl_loop_add(op.loop, c->fd, FL_WRITE, on_io, c);
}

static void pace(fl_timer *t, uint64_t now, void *arg)
{
    (void)arg;
    uint64_t due = op.rate > 0 ? (uint64_t)((double)(now - op.start) / 1e9 * op.rate) + 1 : (uint64_t)op.count;
    while (op.opened < op.count && (uint64_t)op.opened < due)
        open_one();
    if (op.opened < op.count)
        fl_loop_timer_set(op.loop, t, now + FL_NS_PER_MS);
}

static void on_timeout(fl_timer *t, uint64_t now, void *arg)
{
    (void)t;
    (void)now;
    (void)arg;
    fl_loop_stop(op.loop);
}

int main(int argc, char **argv)
{
    const char *host = "127.0.0.1", *out = NULL;
    int port = 0;
    double timeout = 600;
    op.grace = 1.5;
    op.version = MQTT_V311;
    op.prefix = "bench";
    static const struct option opts[] = {
        { "host", 1, 0, 'h' }, { "port", 1, 0, 'p' }, { "count", 1, 0, 'n' }, { "keepalive", 1, 0, 'k' },
        { "grace", 1, 0, 'g' }, { "rate", 1, 0, 'r' }, { "version", 1, 0, 'V' }, { "id-prefix", 1, 0, 'i' },
        { "out", 1, 0, 'o' }, { "timeout", 1, 0, 't' }, { 0, 0, 0, 0 },
    };
    int o;
    while ((o = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (o) {
        case 'h': host = optarg; break;
        case 'p': port = atoi(optarg); break;
        case 'n': op.count = atoi(optarg); break;
        case 'k': op.keepalive = (uint16_t)atoi(optarg); break;
        case 'g': op.grace = atof(optarg); break;
        case 'r': op.rate = atof(optarg); break;
        case 'V': op.version = atoi(optarg) == 5 ? MQTT_V5 : MQTT_V311; break;
        case 'i': op.prefix = optarg; break;
        case 'o': out = optarg; break;
        case 't': timeout = atof(optarg); break;
        default:
            fprintf(stderr, "usage: see the comment at the top of bench/broker/opener.c\n");
            return 2;
        }
    }
    if (port <= 0 || op.count <= 0 || op.keepalive == 0) {
        fprintf(stderr, "flatline-bench-opener: --port, --count and --keepalive (> 0) are required\n");
        return 2;
    }
    op.addr.sin_family = AF_INET;
    op.addr.sin_port = htons((uint16_t)port);
    if (inet_pton(AF_INET, host, &op.addr.sin_addr) != 1) {
        fprintf(stderr, "flatline-bench-opener: --host: not an IPv4 address: %s\n", host);
        return 2;
    }
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
    op.conns = calloc((size_t)op.count, sizeof *op.conns);
    op.loop = fl_loop_new();
    op.start = fl_now_ns();
    fl_timer_init(&op.pacer, pace, NULL);
    fl_loop_timer_set(op.loop, &op.pacer, op.start);
    fl_timer deadline;
    fl_timer_init(&deadline, on_timeout, NULL);
    fl_loop_timer_set(op.loop, &deadline, op.start + (uint64_t)(timeout * 1e9));
    fl_loop_run(op.loop);

    FILE *f = out ? fopen(out, "w") : NULL;
    uint64_t period = (uint64_t)llround(op.grace * op.keepalive * 1e9);
    int measured = 0;
    for (int i = 0; i < op.count; i++) {
        conn *c = &op.conns[i];
        if (c->silent && c->ended > c->sent) {
            int64_t over = (int64_t)(c->ended - c->sent) - (int64_t)period;
            if (f)
                fprintf(f, "%lld\n", (long long)over);
            measured++;
        }
    }
    if (f)
        fclose(f);
    fprintf(stderr, "opener %s: %d connections, %d connected, %d failed, %d closed by the broker, %d measured\n",
            op.prefix, op.count, op.connected, op.failed, op.ended - op.failed, measured);
    fl_loop_free(op.loop);
    free(op.conns);
    return 0;
}
