/* The one table of close and death reasons (core/reason.h) against the words
 * docs/events.md promises: every word the docs list is in the table, and the
 * table has no word the docs do not list. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/reason.h"
#include "core/tcpclass.h"

Test(reason, names_round_trip)
{
    for (int r = 1; r < FL_REASON_COUNT; r++) {
        const char *name = fl_reason_name((fl_reason)r);
        cr_assert(name && name[0] && strcmp(name, "?") != 0, "reason %d has no name", r);
        cr_assert_eq(fl_reason_parse(name), (fl_reason)r, "%s does not parse back", name);
    }
    cr_assert_eq(fl_reason_parse(NULL), FL_REASON_NONE);
    cr_assert_eq(fl_reason_parse("MQTT_ERR_KEEPALIVE"), FL_REASON_NONE, "a library's own word is not a reason");
    cr_assert_str_eq(fl_reason_name(FL_REASON_COUNT), "?");
}

Test(reason, tcpclass_speaks_the_table)
{
    fl_tcp_facts f = { .keepalive_on = true, .probes = 2 };
    cr_assert_eq(fl_reason_parse(fl_classify_socket_error(110 /* ETIMEDOUT */, &f)), FL_REASON_TCP_KEEPALIVE);
}

/* The backquoted words of the paragraph that starts with `lead` in docs/events.md. */
static size_t doc_words(const char *lead, char words[][32], size_t max)
{
    FILE *f = fopen(FLATLINE_SOURCE_DIR "/docs/events.md", "r");
    cr_assert(f, "docs/events.md not found");
    char line[512];
    bool in = false;
    size_t n = 0;
    while (fgets(line, sizeof line, f)) {
        if (!in && strncmp(line, lead, strlen(lead)) == 0)
            in = true;
        else if (in && line[0] == '\n')
            break;
        if (!in)
            continue;
        const char *p = in && line == strstr(line, lead) ? line + strlen(lead) : line;
        while ((p = strchr(p, '`'))) {
            const char *end = strchr(p + 1, '`');
            if (!end)
                break;
            size_t len = (size_t)(end - p - 1);
            if (n < max && len < 32) {
                memcpy(words[n], p + 1, len);
                words[n++][len] = '\0';
            }
            p = end + 1;
        }
    }
    fclose(f);
    return n;
}

static bool documented(const char *name, char words[][32], size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(words[i], name) == 0)
            return true;
    return false;
}

Test(reason, the_docs_and_the_table_agree)
{
    char words[64][32];
    size_t n = doc_words("Close reasons:", words, 32);
    n += doc_words("`dead_detected` reasons:", words + n, 32);
    cr_assert_gt(n, 10, "the reason lists were not found in docs/events.md");
    for (size_t i = 0; i < n; i++) {
        /* "errno" and "phase" are fields named in the same paragraph, "connecting"/"connected" phase values,
         * and a file it points to */
        if (strchr(words[i], '/') || !strcmp(words[i], "errno") || !strcmp(words[i], "phase") || !strcmp(words[i], "connecting") ||
            !strcmp(words[i], "connected") || !strcmp(words[i], "dead_detected"))
            continue;
        cr_expect_neq(fl_reason_parse(words[i]), FL_REASON_NONE, "docs/events.md lists `%s`, core/reason.h does not",
                      words[i]);
    }
    for (int r = 1; r < FL_REASON_COUNT; r++)
        cr_expect(documented(fl_reason_name((fl_reason)r), words, n), "core/reason.h has `%s`, docs/events.md does not",
                  fl_reason_name((fl_reason)r));
}
