/* The socket side of flatline-broker: listeners, accepted connections, reads
 * into one shared buffer, writes that keep only unsent bytes, signals. All of
 * it on core/'s fl_loop; the protocol is broker.h's. */
#ifndef FLATLINE_BROKER_SERVER_H
#define FLATLINE_BROKER_SERVER_H

#include <stddef.h>

#include "config.h"
#include "core/evlog.h"

typedef struct bk_server bk_server;

bk_server *bk_server_new(const bk_config *cfg, fl_evlog *log);
/* Opens every listener of cfg and logs a "listening" event for each (with the
 * real port when 0 was asked). Returns 0, or -1 with err naming the address. */
int bk_server_listen(bk_server *srv, char *err, size_t errlen);
/* Runs until SIGTERM or SIGINT, then closes every connection ("shutdown").
 * Returns 0, or -1 if the loop failed. */
int bk_server_run(bk_server *srv);
void bk_server_free(bk_server *srv);

#endif
