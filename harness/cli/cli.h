/* The flatline command line: one file a subcommand (cmd_*.c), dispatched by
 * main.c from a table, wireguard-tools style. */
#ifndef FLATLINE_HARNESS_CLI_H
#define FLATLINE_HARNESS_CLI_H

#include "core/exit.h" /* enum fl_exit: the exit codes of every subcommand */

extern const char *fl_prog; /* argv[0]'s base name, for messages */

int fl_cmd_run(int argc, char **argv);
int fl_cmd_validate(int argc, char **argv);
int fl_cmd_doctor(int argc, char **argv);
int fl_cmd_cleanup(int argc, char **argv);
int fl_cmd_compare(int argc, char **argv);
int fl_cmd_model(int argc, char **argv);
int fl_cmd_plot(int argc, char **argv);
int fl_cmd_merge(int argc, char **argv);

/* True for "-h" and "--help". */
int fl_is_help(const char *arg);

#endif
