/* Shared by the netem tests: a topology per test that is removed even when an
 * assertion fails, and plain TCP sockets created inside hosts' namespaces. */
#ifndef FLATLINE_TESTS_NETEM_HELPERS_H
#define FLATLINE_TESTS_NETEM_HELPERS_H

#include <stdbool.h>
#include <stdint.h>

#include "netem/netem.h"

/* Skips the calling test, with the reason, when this kernel has no sch_netem
 * (the tests labelled "netem" then run inside the VM: tests/vm/flatline-vm). */
void th_need_netem(void);

/* The topology of the running test; torn down by th_teardown (the fini). */
extern fl_netem *th_net;
extern char th_err[512];

/* A prefix unique to this process: "t<tag><pid>", at most 10 characters. */
void th_prefix(char *buf, size_t len, const char *tag);
/* Builds spec (with a fresh prefix) into th_net, asserting success. Removes
 * the remains of crashed earlier tests first. */
void th_build(fl_topology_spec *spec, const char *tag);
void th_teardown(void);

/* A listening TCP socket in h bound to addr:0; *port receives the port. */
int th_listen(fl_host *h, const char *addr, uint16_t *port);
/* A TCP connection from h to addr:port (blocking connect, 3 s). With keepalive
 * > 0: SO_KEEPALIVE with idle/interval keepalive s and count 3. */
int th_connect(fl_host *h, const char *addr, uint16_t port, int keepalive);
/* accept() with a 3 s timeout; -1 on timeout. */
int th_accept(int lfd);
/* Waits up to timeout_ms for an error on fd; returns the SO_ERROR value, 0 when
 * none came, and stores the monotonic ns when it was seen. */
int th_wait_error(int fd, int timeout_ms, uint64_t *when_ns);
/* Waits up to timeout_ms for fd to become readable (data, FIN or RST). */
bool th_readable(int fd, int timeout_ms);
/* Writes and reads back n bytes through an echo: a sends, b reads and echoes. */
bool th_roundtrip(int a, int b);

#endif
