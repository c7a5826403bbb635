/* A runner that gets SIGKILLed: builds a topology, starts a process inside a
 * host, reports what it made on the fd given as argv[1], and waits to die.
 * A separate program because a forked copy of a threaded test worker may
 * deadlock in malloc before it gets anywhere. */
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "doomed_report.h"
#include "netem/netem.h"

int main(int argc, char **argv)
{
    if (argc != 2)
        return 2;
    int wfd = atoi(argv[1]);
    struct doomed_report r = {0};
    char err[256];
    fl_group_spec g = {.hosts = 2, .nat = 0};
    fl_nat_spec nat = {.timeout_s = 60};
    snprintf(r.prefix, sizeof r.prefix, "tk%d", (int)(getpid() % 1000000));
    fl_topology_spec spec = {.prefix = r.prefix, .groups = &g, .n_groups = 1, .nats = &nat,
                             .n_nats = 1};
    fl_netem *net;
    if (fl_netem_build(&spec, &net, err, sizeof err)) {
        fprintf(stderr, "doomed_runner: %s\n", err);
        return 1;
    }
    fl_host *h = fl_netem_group_host(net, 0, 1);
    char *inner[] = {"/bin/sleep", "300", NULL};
    r.inner = fl_host_spawn(h, inner, NULL, NULL, 0, err, sizeof err);
    snprintf(r.netns[0], sizeof r.netns[0], "%s", fl_host_netns(h));
    snprintf(r.netns[1], sizeof r.netns[1], "%s", fl_host_netns(fl_netem_nat(net, 0)));
    snprintf(r.netns[2], sizeof r.netns[2], "%s-sw", r.prefix);
    if (write(wfd, &r, sizeof r) != sizeof r)
        return 3;
    for (;;)
        pause();
}
