#include "reports/junit.h"

void fl_junit_escaped(FILE *out, const char *s)
{
    for (; s && *s; s++) {
        switch (*s) {
        case '<': fputs("&lt;", out); break;
        case '>': fputs("&gt;", out); break;
        case '&': fputs("&amp;", out); break;
        case '"': fputs("&quot;", out); break;
        default:
            /* XML 1.0 forbids most control characters even escaped. */
            if ((unsigned char)*s >= 0x20 || *s == '\n' || *s == '\t')
                fputc(*s, out);
        }
    }
}

void fl_junit_testcase(FILE *out, const char *classname, const char *name, const char *failure, bool skipped)
{
    fputs("    <testcase classname=\"", out);
    fl_junit_escaped(out, classname);
    fputs("\" name=\"", out);
    fl_junit_escaped(out, name);
    if (!failure && !skipped) {
        fputs("\"/>\n", out);
        return;
    }
    fputs("\">\n", out);
    if (skipped) {
        fputs("      <skipped/>\n", out);
    } else {
        fputs("      <failure message=\"", out);
        fl_junit_escaped(out, failure);
        fputs("\"/>\n", out);
    }
    fputs("    </testcase>\n", out);
}
