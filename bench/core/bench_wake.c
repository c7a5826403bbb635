/* What core/wake's record costs a loop pass: one process ping-pongs a byte through two pipes, so that every
 * pass of its fl_loop waits (blocks in epoll) and wakes once, as the broker's
 * and the swarm's loops do when a packet or a deadline arrives. Reports the
 * loop process's CPU time (user + system, not the echo's) per pass with and
 * without fl_loop_track_wake, alternating rounds so that drift in the
 * machine's load hits both alike.
 *
 *     flatline-bench-wake [passes-per-round] [rounds]
 */
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/clock.h"
#include "core/loop.h"

typedef struct pingpong {
    int in, out;
    long left;
} pingpong;

static void on_byte(fl_loop *loop, int fd, unsigned events, void *arg)
{
    (void)events;
    pingpong *p = arg;
    char c;
    if (read(fd, &c, 1) != 1 || --p->left <= 0) {
        fl_loop_stop(loop);
        return;
    }
    if (write(p->out, &c, 1) != 1)
        fl_loop_stop(loop);
}

/* The echo side: a plain blocking process that answers every byte (its CPU
 * time is its own, not counted). */
static pid_t echo(int in, int out, int parent_in, int parent_out)
{
    pid_t pid = fork();
    if (pid == 0) {
        char c;
        close(parent_in); /* or its own copy would keep the pipe open: no EOF */
        close(parent_out);
        while (read(in, &c, 1) == 1)
            if (write(out, &c, 1) != 1)
                break;
        _exit(0);
    }
    return pid;
}

/* This process's CPU time (user + system), which other processes' load does
 * not add to as it adds to wall time. */
static uint64_t cpu_ns(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (uint64_t)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * FL_NS_PER_S +
           (uint64_t)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) * 1000;
}

static double round_ns(long passes, int track)
{
    int to[2], from[2];
    if (pipe(to) || pipe(from))
        exit(1);
    pid_t child = echo(to[0], from[1], from[0], to[1]);
    close(to[0]);
    close(from[1]);
    fl_loop *loop = fl_loop_new();
    if (track)
        fl_loop_track_wake(loop);
    pingpong p = { from[0], to[1], passes };
    fl_loop_add(loop, from[0], FL_READ, on_byte, &p);
    uint64_t start = cpu_ns();
    if (write(to[1], "x", 1) != 1)
        exit(1);
    fl_loop_run(loop);
    uint64_t took = cpu_ns() - start;
    fl_loop_free(loop);
    close(to[1]);
    close(from[0]);
    waitpid(child, NULL, 0);
    return (double)took / (double)passes;
}

int main(int argc, char **argv)
{
    long passes = argc > 1 ? atol(argv[1]) : 200000;
    int rounds = argc > 2 ? atoi(argv[2]) : 5;
    double sum[2] = { 0, 0 }, best[2] = { 1e18, 1e18 };
    for (int r = 0; r < rounds; r++) {
        for (int track = 0; track < 2; track++) {
            double ns = round_ns(passes, track);
            sum[track] += ns;
            if (ns < best[track])
                best[track] = ns;
            printf("round %d %-9s %.0f ns a pass\n", r + 1, track ? "tracked" : "untracked", ns);
        }
    }
    printf("mean: untracked %.0f ns, tracked %.0f ns a pass (+%.0f ns); best: %.0f, %.0f ns (+%.0f ns)\n",
           sum[0] / rounds, sum[1] / rounds, (sum[1] - sum[0]) / rounds, best[0], best[1], best[1] - best[0]);
    return 0;
}
