/* JUnit XML pieces shared by the run's JUnit (summary.c, from a report) and
 * merge's (merge_ci.c, from report JSON): escaping and one <testcase>. */
#ifndef FLATLINE_REPORTS_JUNIT_H
#define FLATLINE_REPORTS_JUNIT_H

#include <stdbool.h>
#include <stdio.h>

/* s escaped for an XML attribute or text; the control characters XML 1.0
 * forbids even escaped are dropped. NULL writes nothing. */
void fl_junit_escaped(FILE *out, const char *s);

/* One <testcase>: passed (failure NULL, not skipped), failed with failure as
 * its message, or skipped. */
void fl_junit_testcase(FILE *out, const char *classname, const char *name, const char *failure, bool skipped);

#endif
