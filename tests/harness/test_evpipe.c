/* Event lines split across reads arrive whole; garbage is reported, not fatal. */
#include <criterion/criterion.h>
#include <string.h>

#include "harness/run/evpipe.h"

typedef struct seen {
    int events, garbage;
    char last_ev[32];
} seen;

static void on_event(fl_evpipe *p, json_t *ev, const char *line, void *arg)
{
    (void)p;
    (void)line;
    seen *s = arg;
    if (!ev) {
        s->garbage++;
        return;
    }
    s->events++;
    snprintf(s->last_ev, sizeof s->last_ev, "%s", json_string_value(json_object_get(ev, "ev")));
}

Test(evpipe, joins_fragments)
{
    seen s = { 0 };
    fl_evpipe *p = fl_evpipe_open(NULL, -1, "t", NULL, on_event, NULL, &s);
    cr_assert_not_null(p);
    const char *a = "{\"t\":1,\"ev\":\"acc";
    const char *b = "ept\"}\n{\"t\":2,\"ev\":\"close\"}\nnot json\n[1]\n";
    fl_evpipe_feed(p, a, strlen(a));
    cr_expect_eq(s.events, 0);
    fl_evpipe_feed(p, b, strlen(b));
    cr_expect_eq(s.events, 2);
    cr_expect_str_eq(s.last_ev, "close");
    cr_expect_eq(s.garbage, 2);
    cr_expect_eq(fl_evpipe_lines(p), 4);
    fl_evpipe_close(p);
}

Test(evpipe, overlong_line_is_dropped_alone)
{
    seen s = { 0 };
    fl_evpipe *p = fl_evpipe_open(NULL, -1, "t", NULL, on_event, NULL, &s);
    static char big[70000];
    memset(big, 'x', sizeof big);
    fl_evpipe_feed(p, big, sizeof big);
    fl_evpipe_feed(p, "\n{\"ev\":\"ok\"}\n", 13);
    cr_expect_eq(s.garbage, 1);
    cr_expect_eq(s.events, 1);
    cr_expect_str_eq(s.last_ev, "ok");
    fl_evpipe_close(p);
}

