/* How the runner steers a running swarm: line commands on an inherited
 * descriptor (--control fd:N) and signals. Commands: "stop" (DISCONNECT every
 * client, exit 0), "kill" (exit at once, no DISCONNECT), "counters" (a
 * counters event in the log), "status" (counters on stdout). SIGTERM and
 * SIGINT stop; SIGUSR1 prints the counters on stderr. */
#ifndef FLATLINE_CLIENTS_CONTROL_H
#define FLATLINE_CLIENTS_CONTROL_H

#include <stddef.h>

#include "clients/swarm.h"
#include "core/loop.h"

typedef struct swarm_control swarm_control;

/* control_fd -1: signals only. Blocks the handled signals for the process. */
swarm_control *control_open(fl_loop *loop, swarm *s, int control_fd, char *err, size_t errlen);
void control_close(swarm_control *c);

/* Parses "fd:N" (an open descriptor); -1 if it is not one. */
int control_parse_fd(const char *spec);

#endif
