#include <criterion/criterion.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "core/evlog.h"

Test(evlog, writes_one_json_line_per_event_with_time_and_source)
{
    char path[] = "/tmp/flatline-evlog-XXXXXX";
    int fd = mkstemp(path);
    cr_assert_geq(fd, 0);
    close(fd);
    char err[128];
    fl_evlog *log = fl_evlog_open(path, "broker", err, sizeof err);
    cr_assert_not_null(log, "%s", err);
    cr_assert_eq(fl_evlog_emit_at(log, 42, json_pack("{s:s, s:i}", "ev", "accept", "n", 7)), 0);
    cr_assert_eq(fl_evlog_emit(log, json_pack("{s:s}", "ev", "close")), 0);
    fl_evlog_close(log);

    FILE *f = fopen(path, "r");
    char line[256];
    cr_assert_not_null(fgets(line, sizeof line, f));
    cr_assert_str_eq(line, "{\"t\":42,\"src\":\"broker\",\"ev\":\"accept\",\"n\":7}\n");
    cr_assert_not_null(fgets(line, sizeof line, f));
    json_t *ev = json_loads(line, 0, NULL);
    cr_assert_not_null(ev);
    cr_assert_str_eq(json_string_value(json_object_get(ev, "ev")), "close");
    cr_assert_gt(json_integer_value(json_object_get(ev, "t")), 42);
    json_decref(ev);
    cr_assert_null(fgets(line, sizeof line, f));
    fclose(f);
    unlink(path);
}

Test(evlog, names_a_bad_destination)
{
    char err[128];
    cr_assert_null(fl_evlog_open("fd:9999", "x", err, sizeof err));
    cr_assert(strstr(err, "fd:9999"), "%s", err);
    cr_assert_null(fl_evlog_open("/nonexistent/dir/log", "x", err, sizeof err));
    cr_assert(strstr(err, "/nonexistent/dir/log"), "%s", err);
}

Test(evlog, null_spec_discards)
{
    char err[64];
    fl_evlog *log = fl_evlog_open(NULL, "x", err, sizeof err);
    cr_assert_not_null(log);
    cr_assert_eq(fl_evlog_emit(log, json_pack("{s:s}", "ev", "x")), 0);
    fl_evlog_close(log);
}

Test(evlog, formats_v4_and_v6_addresses)
{
    char buf[64];
    struct sockaddr_in in = { .sin_family = AF_INET, .sin_port = htons(1883), .sin_addr.s_addr = htonl(0xC6120001) };
    cr_assert_str_eq(fl_format_addr((struct sockaddr *)&in, buf, sizeof buf), "198.18.0.1:1883");
    struct sockaddr_in6 in6 = { .sin6_family = AF_INET6, .sin6_port = htons(80) };
    in6.sin6_addr.s6_addr[15] = 1;
    cr_assert_str_eq(fl_format_addr((struct sockaddr *)&in6, buf, sizeof buf), "[::1]:80");
}
