/* Child processes for the tests against real clients: the broker binary and
 * third-party MQTT clients, with their output in files, always reaped. */
#ifndef FLATLINE_TESTS_BROKER_PROC_H
#define FLATLINE_TESTS_BROKER_PROC_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

typedef struct child {
    pid_t pid;
    char out_path[128]; /* stdout and stderr */
    int status;
    bool reaped;
} child;

/* Starts argv (NULL-terminated) with stdout+stderr to a temporary file. */
void child_start(child *c, char *const argv[]);
/* Waits up to timeout_ms; returns true if it exited (status in c->status). */
bool child_wait(child *c, int timeout_ms);
/* SIGKILLs and reaps if still running; removes the output file. */
void child_cleanup(child *c);
/* Reads the child's output (caller frees). */
char *child_output(const child *c);
/* Waits until the output contains needle; true if it did within timeout_ms. */
bool child_wait_output(const child *c, const char *needle, int timeout_ms);

typedef struct broker_proc {
    child proc;
    char events_path[128];
    uint16_t port;
    char port_str[8];
} broker_proc;

/* Starts flatline-broker on 127.0.0.1:0 with extra args (may be NULL) and
 * waits for its listening event. */
void broker_start(broker_proc *b, char *const extra[]);
/* SIGTERM, wait, assert exit 0 (the event log stays for reading). */
void broker_stop(broker_proc *b);
/* Kills it if still running and removes its files. */
void broker_free(broker_proc *b);
/* The nth event named ev whose field key equals value (key NULL: any), or NULL. */
json_t *broker_event(const broker_proc *b, const char *ev, const char *key, const char *value, int nth);
/* Polls broker_event until it appears or timeout_ms passes. */
json_t *broker_wait_event(const broker_proc *b, const char *ev, const char *key, const char *value, int timeout_ms);

int64_t now_ms(void);
void sleep_ms(int ms);

#endif
