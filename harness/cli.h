/* The flatline command line: one file a subcommand (cmd_*.c), dispatched by
 * main.c from a table, wireguard-tools style. */
#ifndef FLATLINE_HARNESS_CLI_H
#define FLATLINE_HARNESS_CLI_H

/* Exit codes, the same for every subcommand (docs/flatline.1). */
enum fl_exit {
    FL_EXIT_OK = 0,          /* ran, and every expectation held */
    FL_EXIT_EXPECTATION = 1, /* ran, and an expectation failed */
    FL_EXIT_USAGE = 2,       /* bad input or usage: nothing was created */
    FL_EXIT_MACHINE = 3,     /* this machine cannot run it (not root, no sch_netem, ...) */
    FL_EXIT_BROKEN = 4,      /* the run itself broke (a process died, clients never connected) */
};

extern const char *fl_prog; /* argv[0]'s base name, for messages */

int fl_cmd_run(int argc, char **argv);
int fl_cmd_validate(int argc, char **argv);
int fl_cmd_doctor(int argc, char **argv);
int fl_cmd_cleanup(int argc, char **argv);
int fl_cmd_compare(int argc, char **argv);
int fl_cmd_model(int argc, char **argv);
int fl_cmd_plot(int argc, char **argv);

/* True for "-h" and "--help". */
int fl_is_help(const char *arg);

#endif
