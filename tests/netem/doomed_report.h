/* What doomed_runner tells test_cleanup about the run it made. */
#ifndef FLATLINE_TESTS_NETEM_DOOMED_REPORT_H
#define FLATLINE_TESTS_NETEM_DOOMED_REPORT_H

#include <sys/types.h>

struct doomed_report {
    char prefix[16];
    char netns[3][64];
    pid_t inner;
};

#endif
