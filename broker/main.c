/* flatline-broker: the reference MQTT broker with exact keep-alive timing. */
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>

#include "config.h"
#include "core/evlog.h"
#include "core/exit.h"
#include "server.h"

int main(int argc, char **argv)
{
    bk_config cfg;
    bk_config_defaults(&cfg);
    char err[512];
    int rc = bk_config_from_args(&cfg, argc, argv, err, sizeof err);
    if (rc == 1) {
        bk_config_usage(argv[0]);
        bk_config_free(&cfg);
        return 0;
    }
    if (rc < 0) {
        fprintf(stderr, "flatline-broker: %s\n", err);
        bk_config_free(&cfg);
        return FL_EXIT_USAGE;
    }
    fl_evlog *log = fl_evlog_open(cfg.events, "broker", err, sizeof err);
    if (!log) {
        fprintf(stderr, "flatline-broker: --%s\n", err);
        bk_config_free(&cfg);
        return FL_EXIT_USAGE;
    }
    /* Thousands of idle clients a broker: take every descriptor allowed. */
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
    bk_server *srv = bk_server_new(&cfg, log);
    if (!srv) {
        fprintf(stderr, "flatline-broker: cannot set up the event loop\n");
        fl_evlog_close(log);
        bk_config_free(&cfg);
        return FL_EXIT_BROKEN;
    }
    int code = FL_EXIT_OK;
    if (bk_server_listen(srv, err, sizeof err) < 0) {
        fprintf(stderr, "flatline-broker: %s\n", err);
        code = FL_EXIT_MACHINE;
    } else if (bk_server_run(srv) < 0) {
        perror("flatline-broker: event loop");
        code = FL_EXIT_BROKEN;
    }
    bk_server_free(srv);
    fl_evlog_close(log);
    bk_config_free(&cfg);
    return code;
}
