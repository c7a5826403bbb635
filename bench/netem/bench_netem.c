/* bench_netem: builds and tears down a switch, a broker and N client hosts
 * with libflatline_netem and with an iproute2 shell script doing the same,
 * in the same run, and prints the median times and their ratio.
 *   bench_netem [-n HOSTS] [-r ROUNDS] [-s SCRIPT] */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/clock.h"
#include "netem/netem.h"

static int run_script(const char *script, const char *action, const char *prefix, unsigned n)
{
    char count[16];
    snprintf(count, sizeof count, "%u", n);
    pid_t pid = fork();
    if (pid == 0) {
        execl("/bin/sh", "sh", script, action, prefix, count, (char *)NULL);
        _exit(127);
    }
    int status;
    if (pid < 0 || waitpid(pid, &status, 0) != pid)
        return -1;
    return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : -1;
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return (x > y) - (x < y);
}

static double median_ms(uint64_t *v, int n)
{
    qsort(v, (size_t)n, sizeof *v, cmp_u64);
    return (double)v[n / 2] / 1e6;
}

/* Namespaces are freed by the kernel after their names are gone; let that
 * finish so that one side's cleanup does not slow the other's build. */
static void settle(void)
{
    sleep(1);
}

int main(int argc, char **argv)
{
    unsigned hosts = 64;
    int rounds = 3;
    const char *script = FLATLINE_BENCH_SCRIPT;
    int opt;
    while ((opt = getopt(argc, argv, "n:r:s:")) != -1) {
        switch (opt) {
        case 'n': hosts = (unsigned)atoi(optarg); break;
        case 'r': rounds = atoi(optarg); break;
        case 's': script = optarg; break;
        default:
            fprintf(stderr, "usage: %s [-n HOSTS] [-r ROUNDS] [-s SCRIPT]\n", argv[0]);
            return 2;
        }
    }
    if (hosts < 1 || hosts > 5000 || rounds < 1 || rounds > 50) {
        fprintf(stderr, "bench_netem: -n must be 1..5000 and -r 1..50\n");
        return 2;
    }
    uint64_t *lib_up = calloc((size_t)rounds, 8), *lib_down = calloc((size_t)rounds, 8);
    uint64_t *sh_up = calloc((size_t)rounds, 8), *sh_down = calloc((size_t)rounds, 8);
    char err[512], lib_prefix[16], sh_prefix[16];
    snprintf(lib_prefix, sizeof lib_prefix, "bl%d", (int)(getpid() % 1000000));
    snprintf(sh_prefix, sizeof sh_prefix, "bs%d", (int)(getpid() % 1000000));
    fl_group_spec group = {.hosts = hosts, .nat = -1};
    fl_topology_spec spec = {.prefix = lib_prefix, .groups = &group, .n_groups = 1};

    for (int r = 0; r < rounds; r++) {
        fl_netem *net;
        uint64_t t0 = fl_now_ns();
        if (fl_netem_build(&spec, &net, err, sizeof err)) {
            fprintf(stderr, "bench_netem: build: %s\n", err);
            return 1;
        }
        uint64_t t1 = fl_now_ns();
        if (fl_netem_teardown(net, err, sizeof err)) {
            fprintf(stderr, "bench_netem: teardown: %s\n", err);
            return 1;
        }
        uint64_t t2 = fl_now_ns();
        lib_up[r] = t1 - t0;
        lib_down[r] = t2 - t1;
        settle();

        t0 = fl_now_ns();
        if (run_script(script, "up", sh_prefix, hosts)) {
            fprintf(stderr, "bench_netem: %s up failed\n", script);
            run_script(script, "down", sh_prefix, hosts);
            return 1;
        }
        t1 = fl_now_ns();
        if (run_script(script, "down", sh_prefix, hosts)) {
            fprintf(stderr, "bench_netem: %s down failed\n", script);
            return 1;
        }
        t2 = fl_now_ns();
        sh_up[r] = t1 - t0;
        sh_down[r] = t2 - t1;
        settle();
        fprintf(stderr, "round %d: library %.1f / %.1f ms, iproute2 %.1f / %.1f ms\n", r + 1,
                lib_up[r] / 1e6, lib_down[r] / 1e6, sh_up[r] / 1e6, sh_down[r] / 1e6);
    }
    double lu = median_ms(lib_up, rounds), ld = median_ms(lib_down, rounds);
    double su = median_ms(sh_up, rounds), sd = median_ms(sh_down, rounds);
    printf("| %u client hosts + broker + switch, median of %d | build (ms) | teardown (ms) |\n",
           hosts, rounds);
    printf("|---|---:|---:|\n");
    printf("| libflatline_netem | %.1f | %.1f |\n", lu, ld);
    printf("| iproute2 shell script | %.1f | %.1f |\n", su, sd);
    printf("| ratio library / script | %.3f | %.3f |\n", lu / su, ld / sd);
    free(lib_up);
    free(lib_down);
    free(sh_up);
    free(sh_down);
    return 0;
}
