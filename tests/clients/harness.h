/* Test fixtures for the swarm's integration tests: free ports, a mosquitto
 * broker on one, the flatline-swarm binary, and the event log read back. */
#ifndef FLATLINE_TESTS_CLIENTS_HARNESS_H
#define FLATLINE_TESTS_CLIENTS_HARNESS_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

/* A TCP port on 127.0.0.1 that was free a moment ago. */
int th_free_port(void);
/* Starts /usr/sbin/mosquitto on 127.0.0.1:port with a generated config in dir
 * and waits until it accepts connections. Returns its pid, or -1. */
pid_t th_start_mosquitto(const char *dir, int port);
/* Waits until something accepts on 127.0.0.1:port (timeout_s). */
bool th_wait_port(int port, double timeout_s);
/* fork + exec argv; the child's stdin is control_read (if >= 0). */
pid_t th_spawn(char *const argv[], int keep_fd);
/* SIGKILLs (after SIGCONT) and reaps. */
void th_kill(pid_t pid);
/* Waits for pid to exit within timeout_s; returns its exit status or -1. */
int th_wait_exit(pid_t pid, double timeout_s);

/* The events of a JSON-lines file, as an array (new reference). */
json_t *th_read_events(const char *path);
/* Polls the file until an event named ev appears (timeout_s). */
bool th_wait_event(const char *path, const char *ev, double timeout_s);
/* Number of events named ev in the array. */
size_t th_count(json_t *events, const char *ev);

uint64_t th_now_ns(void);
void th_sleep(double s);

#endif
