/* flatline-adapter-command: any MQTT client program as a black box
 * (docs/clients.md). It starts the group's command once per client (the
 * placeholders {broker}, {port}, {id} filled in) and watches, through socket
 * diagnostics (NETLINK_SOCK_DIAG, as harness/wire/sockwatch.c does on the
 * broker side), each program's TCP connections to the broker in its host:
 * a new ESTABLISHED socket owned by the program is `connected` (or
 * `reconnected`), the socket leaving ESTABLISHED is `dead_detected` (reason
 * `closed` when the program closed it, `eof` when the broker did, `reset`
 * when it vanished), stamped at the poll that saw it (POLL_MS). The
 * program's exit is logged and, with a live connection, a `dead_detected`
 * with reason `exit`. */
#include <arpa/inet.h>
#include <dirent.h>
#include <fcntl.h>
#include <errno.h>
#include <linux/inet_diag.h>
#include <linux/netlink.h>
#include <linux/sock_diag.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "core/reason.h"
#include "clients/adapters/common/adapter.h"
#include "core/clock.h"
#include "core/evlog.h"

enum { POLL_MS = 10, MAX_SOCKS = 65536 };

static const adapter_desc desc = { .name = "command", .fd_overhead = 32 };

typedef struct cmd_client {
    pid_t pid;
    unsigned inode;    /* the live connection's socket, 0: none */
    bool exited;
} cmd_client;

typedef struct sock_seen {
    unsigned inode;
    uint8_t state;
    char local[64];
} sock_seen;

static adapter A;
static cmd_client *K;
static sock_seen socks[MAX_SOCKS];
static size_t nsocks;
static struct in_addr broker_addr;

/* Every IPv4 TCP socket of this host to the broker's address and port. */
static int dump(int fd)
{
    struct {
        struct nlmsghdr nlh;
        struct inet_diag_req_v2 req;
    } msg = {
        .nlh = { .nlmsg_len = sizeof msg, .nlmsg_type = SOCK_DIAG_BY_FAMILY, .nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP },
        .req = { .sdiag_family = AF_INET, .sdiag_protocol = IPPROTO_TCP, .idiag_states = ~0u },
    };
    struct sockaddr_nl kernel = { .nl_family = AF_NETLINK };
    if (sendto(fd, &msg, sizeof msg, 0, (struct sockaddr *)&kernel, sizeof kernel) < 0)
        return -1;
    nsocks = 0;
    static char buf[1 << 16];
    for (;;) {
        ssize_t n = recv(fd, buf, sizeof buf, 0);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return -1;
        for (struct nlmsghdr *h = (struct nlmsghdr *)buf; NLMSG_OK(h, (size_t)n); h = NLMSG_NEXT(h, n)) {
            if (h->nlmsg_type == NLMSG_DONE)
                return 0;
            if (h->nlmsg_type == NLMSG_ERROR)
                return -1;
            const struct inet_diag_msg *d = NLMSG_DATA(h);
            if (ntohs(d->id.idiag_dport) != A.broker_port || d->id.idiag_dst[0] != broker_addr.s_addr ||
                nsocks == MAX_SOCKS)
                continue;
            sock_seen *s = &socks[nsocks++];
            s->inode = d->idiag_inode;
            s->state = d->idiag_state;
            char host[INET_ADDRSTRLEN];
            inet_ntop(AF_INET, d->id.idiag_src, host, sizeof host);
            snprintf(s->local, sizeof s->local, "%s:%u", host, ntohs(d->id.idiag_sport));
        }
    }
}

/* By inode, else (a socket the program closed is an orphan: inode 0) by its
 * local address. */
static const sock_seen *find_sock(unsigned inode, const char *local)
{
    for (size_t i = 0; i < nsocks; i++)
        if (socks[i].inode == inode)
            return &socks[i];
    for (size_t i = 0; i < nsocks; i++)
        if (socks[i].inode == 0 && strcmp(socks[i].local, local) == 0)
            return &socks[i];
    return NULL;
}

/* Whether process pid holds socket inode (its /proc/PID/fd links). */
static bool owns(pid_t pid, unsigned inode)
{
    char dir[64], want[48];
    snprintf(dir, sizeof dir, "/proc/%d/fd", (int)pid);
    snprintf(want, sizeof want, "socket:[%u]", inode);
    DIR *d = opendir(dir);
    if (!d)
        return false;
    bool found = false;
    struct dirent *e;
    while (!found && (e = readdir(d))) {
        char target[64];
        ssize_t n = readlinkat(dirfd(d), e->d_name, target, sizeof target - 1);
        if (n > 0) {
            target[n] = '\0';
            found = strcmp(target, want) == 0;
        }
    }
    closedir(d);
    return found;
}

static pid_t spawn(adapter_client *c, const json_t *command)
{
    size_t n = json_array_size(command);
    char **argv = calloc(n + 1, sizeof *argv);
    char port[8];
    snprintf(port, sizeof port, "%u", A.broker_port);
    for (size_t i = 0; argv && i < n; i++) {
        const char *arg = json_string_value(json_array_get(command, i));
        char out[512];
        size_t len = 0;
        for (const char *p = arg; *p && len < sizeof out - 1;) {
            const char *val = NULL;
            size_t skip = 0;
            if (strncmp(p, "{broker}", 8) == 0)
                val = A.broker_host, skip = 8;
            else if (strncmp(p, "{port}", 6) == 0)
                val = port, skip = 6;
            else if (strncmp(p, "{id}", 4) == 0)
                val = c->id, skip = 4;
            if (val) {
                len += (size_t)snprintf(out + len, sizeof out - len, "%s", val);
                p += skip;
            } else {
                out[len++] = *p++;
            }
        }
        out[len < sizeof out ? len : sizeof out - 1] = '\0';
        argv[i] = strdup(out);
    }
    pid_t parent = getpid();
    pid_t pid = argv ? fork() : -1;
    if (pid == 0) {
        /* The command goes with the adapter, however the adapter ends (a
         * SIGKILL leaves no handler to stop them): a client left behind keeps
         * reconnecting, and keeps its parent's pipes open. */
        if (prctl(PR_SET_PDEATHSIG, SIGKILL) != 0 || getppid() != parent)
            _exit(127);
        signal(SIGPIPE, SIG_DFL);
        execvp(argv[0], argv);
        fprintf(stderr, "flatline-adapter-command: %s: %s\n", argv[0], strerror(errno));
        _exit(127);
    }
    for (size_t i = 0; argv && i < n; i++)
        free(argv[i]);
    free(argv);
    return pid;
}

static const char *state_reason(const sock_seen *s)
{
    if (!s)
        return fl_reason_name(FL_REASON_RESET);
    switch (s->state) {
    case TCP_FIN_WAIT1:
    case TCP_FIN_WAIT2:
    case TCP_TIME_WAIT:
    case TCP_CLOSING:
    case TCP_LAST_ACK:
        return fl_reason_name(FL_REASON_CLOSED);
    case TCP_CLOSE_WAIT:
        return fl_reason_name(FL_REASON_EOF);
    default:
        return fl_reason_name(FL_REASON_RESET);
    }
}

static void poll_once(int nl)
{
    if (dump(nl) < 0)
        return;
    uint64_t t = fl_now_ns();
    for (uint32_t i = 0; i < A.nclients; i++) {
        adapter_client *c = &A.clients[i];
        cmd_client *k = &K[i];
        if (k->inode) {
            const sock_seen *s = find_sock(k->inode, c->conn);
            if (!s || s->state != TCP_ESTABLISHED) {
                char why[96];
                snprintf(why, sizeof why, "socket left ESTABLISHED: %s", s ? (s->state == TCP_CLOSE_WAIT ? "CLOSE_WAIT" : s->state == TCP_FIN_WAIT1 ? "FIN_WAIT1" : s->state == TCP_FIN_WAIT2 ? "FIN_WAIT2" : s->state == TCP_TIME_WAIT ? "TIME_WAIT" : "other") : "gone");
                adapter_dead_at(&A, c, t, state_reason(s), why);
                k->inode = 0;
            }
        }
    }
    /* New established connections: whose? */
    for (size_t j = 0; j < nsocks; j++) {
        if (socks[j].state != TCP_ESTABLISHED || socks[j].inode == 0)
            continue;
        bool known = false;
        for (uint32_t i = 0; i < A.nclients && !known; i++)
            known = K[i].inode == socks[j].inode;
        if (known)
            continue;
        for (uint32_t i = 0; i < A.nclients; i++) {
            if (K[i].inode || K[i].exited || !owns(K[i].pid, socks[j].inode))
                continue;
            K[i].inode = socks[j].inode;
            adapter_client *c = &A.clients[i];
            snprintf(c->conn, sizeof c->conn, "%s", socks[j].local);
            if (c->ever_connected)
                c->attempt++;
            adapter_connected(&A, c);
            break;
        }
    }
}

static void reap(void)
{
    int status;
    pid_t pid;
    while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
        for (uint32_t i = 0; i < A.nclients; i++) {
            if (K[i].pid != pid)
                continue;
            K[i].exited = true;
            char why[64];
            snprintf(why, sizeof why, WIFEXITED(status) ? "the program exited %d" : "the program died of signal %d",
                     WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status));
            if (K[i].inode && !atomic_load(&A.stop))
                adapter_dead(&A, &A.clients[i], "exit", why);
            K[i].inode = 0;
            if (!atomic_load(&A.stop))
                fprintf(stderr, "flatline-adapter-command: %s: %s\n", A.clients[i].id, why);
        }
    }
}

int main(int argc, char **argv)
{
    int rc = adapter_init(&A, &desc, argc, argv);
    if (rc)
        return rc;
    if (inet_pton(AF_INET, A.broker_host, &broker_addr) != 1) {
        fprintf(stderr, "flatline-adapter-command: broker: '%s' is not an IPv4 address\n", A.broker_host);
        return ADAPTER_EXIT_USAGE;
    }
    for (uint32_t g = 0; g < A.cfg.ngroups; g++) {
        const json_t *cmd = adapter_option(&A, g, "command");
        if (!json_is_array(cmd) || json_array_size(cmd) == 0) {
            fprintf(stderr, "flatline-adapter-command: groups[%u].client_options.command: the program and its "
                            "arguments are needed\n", g);
            return ADAPTER_EXIT_USAGE;
        }
    }
    int nl = socket(AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC, NETLINK_SOCK_DIAG);
    K = calloc(A.nclients ? A.nclients : 1, sizeof *K);
    if (nl < 0 || !K) {
        fprintf(stderr, "flatline-adapter-command: sock_diag: %s\n", strerror(errno));
        return ADAPTER_EXIT_RUNTIME;
    }
    for (uint32_t i = 0; i < A.nclients; i++) {
        K[i].pid = spawn(&A.clients[i], adapter_option(&A, A.clients[i].group, "command"));
        if (K[i].pid < 0) {
            fprintf(stderr, "flatline-adapter-command: fork: %s\n", strerror(errno));
            return ADAPTER_EXIT_RUNTIME;
        }
    }
    while (!adapter_should_stop(&A)) {
        reap();
        poll_once(nl);
        struct timespec ts = { 0, POLL_MS * 1000 * 1000 };
        nanosleep(&ts, NULL);
    }
    atomic_store(&A.stop, true);
    for (uint32_t i = 0; i < A.nclients; i++)
        if (!K[i].exited)
            kill(K[i].pid, SIGTERM);
    for (int n = 0; n < 200; n++) {
        reap();
        bool all = true;
        for (uint32_t i = 0; i < A.nclients; i++)
            all = all && K[i].exited;
        if (all)
            break;
        struct timespec ts = { 0, 10 * 1000 * 1000 };
        nanosleep(&ts, NULL);
    }
    for (uint32_t i = 0; i < A.nclients; i++)
        if (!K[i].exited)
            kill(K[i].pid, SIGKILL);
    adapter_finish(&A);
    close(nl);
    free(K);
    return 0;
}
