/* The TCP options of a client socket. Which TCP mechanism killed a socket is
 * decided by the broker's rule (core/tcpclass.h), shared so that both sides
 * of a connection name a death alike. */
#ifndef FLATLINE_CLIENTS_TCPOPT_H
#define FLATLINE_CLIENTS_TCPOPT_H

#include "clients/config.h"

/* SO_KEEPALIVE with idle/interval/count, TCP_USER_TIMEOUT, TCP_NODELAY.
 * Returns 0, or -1 with errno (the option that failed is in *what). */
int tcpopt_apply(int fd, const swarm_tcp *t, const char **what);

#endif
