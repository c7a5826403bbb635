/* UTF-8 rules, topic name and filter rules, and topic matching. */
#include "helpers.h"

#define B(s) ((mqtt_bytes){ (const uint8_t *)(s), sizeof(s) - 1 })

Test(utf8, valid_strings)
{
    cr_expect(mqtt_utf8_valid(B("")));
    cr_expect(mqtt_utf8_valid(B("plain ascii")));
    cr_expect(mqtt_utf8_valid(B("\xc3\xa9t\xc3\xa9")));         /* été */
    cr_expect(mqtt_utf8_valid(B("\xe6\xb8\xa9\xe5\xba\xa6")));   /* 温度 */
    cr_expect(mqtt_utf8_valid(B("\xf0\x9f\x98\x80")));           /* U+1F600 */
    cr_expect(mqtt_utf8_valid(B("\xf4\x8f\xbf\xbf")));           /* U+10FFFF */
    cr_expect(mqtt_utf8_valid(B("\xed\x9f\xbf")));               /* U+D7FF */
    cr_expect(mqtt_utf8_valid(B("\xee\x80\x80")));               /* U+E000 */
    cr_expect(mqtt_utf8_valid(B("\xef\xbf\xbf")));               /* U+FFFF: allowed, not recommended */
}

Test(utf8, invalid_strings)
{
    cr_expect_not(mqtt_utf8_valid(B("a\0b")));
    cr_expect_not(mqtt_utf8_valid(B("\xc0\x80")));         /* overlong U+0000 */
    cr_expect_not(mqtt_utf8_valid(B("\xc1\xbf")));         /* overlong */
    cr_expect_not(mqtt_utf8_valid(B("\xe0\x9f\xbf")));     /* overlong */
    cr_expect_not(mqtt_utf8_valid(B("\xf0\x8f\xbf\xbf"))); /* overlong */
    cr_expect_not(mqtt_utf8_valid(B("\xed\xa0\x80")));     /* U+D800 */
    cr_expect_not(mqtt_utf8_valid(B("\xed\xbf\xbf")));     /* U+DFFF */
    cr_expect_not(mqtt_utf8_valid(B("\xf4\x90\x80\x80"))); /* U+110000 */
    cr_expect_not(mqtt_utf8_valid(B("\xf8\x88\x80\x80\x80")));
    cr_expect_not(mqtt_utf8_valid(B("\xff")));
    cr_expect_not(mqtt_utf8_valid(B("\x80")));
    cr_expect_not(mqtt_utf8_valid(B("\xe6\xb8")));        /* cut short */
    cr_expect_not(mqtt_utf8_valid(B("\xe6\x41\xa9")));
    cr_expect_not(mqtt_utf8_valid(B("\xf0\x9f\x98\x41")));
}

Test(topic, names)
{
    cr_expect(mqtt_topic_name_valid(B("a")));
    cr_expect(mqtt_topic_name_valid(B("/")));
    cr_expect(mqtt_topic_name_valid(B("sport/tennis/player1")));
    cr_expect(mqtt_topic_name_valid(B("$SYS/uptime")));
    cr_expect(mqtt_topic_name_valid(B(" ")));
    cr_expect_not(mqtt_topic_name_valid(B("")));
    cr_expect_not(mqtt_topic_name_valid(B("sport/+")));
    cr_expect_not(mqtt_topic_name_valid(B("sport/#")));
    cr_expect_not(mqtt_topic_name_valid(B("sp+ort")));
    cr_expect_not(mqtt_topic_name_valid(B("a\xed\xa0\x80")));
}

Test(topic, filters)
{
    static const char *const good[] = { "#", "+", "+/+", "/+", "+/", "sport/#", "sport/+/player1", "sport/tennis/#",
                                        "a//b", "$SYS/#", "+/tennis/#", "/", "$share/g/a/+" };
    static const char *const bad[] = { "", "sport/tennis#", "sport/tennis/#/ranking", "sport+", "+sport",
                                       "a/b+/c", "##", "#/", "++", "a/#b" };
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++)
        cr_expect(mqtt_topic_filter_valid(mqtt_cstr(good[i])), "%s should be valid", good[i]);
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        cr_expect_not(mqtt_topic_filter_valid(mqtt_cstr(bad[i])), "%s should be invalid", bad[i]);
    cr_expect_not(mqtt_topic_filter_valid(B("a/\xc0\xaf")));
}

struct match_case {
    const char *filter, *topic;
    bool match;
};

Test(topic, matching)
{
    static const struct match_case cases[] = {
        /* MQTT 5.0 section 4.7.1.2 and 4.7.1.3 examples */
        { "sport/tennis/player1/#", "sport/tennis/player1", true },
        { "sport/tennis/player1/#", "sport/tennis/player1/ranking", true },
        { "sport/tennis/player1/#", "sport/tennis/player1/score/wimbledon", true },
        { "sport/#", "sport", true },
        { "#", "sport/tennis", true },
        { "#", "/", true },
        { "sport/tennis/+", "sport/tennis/player1", true },
        { "sport/tennis/+", "sport/tennis/player1/ranking", false },
        { "sport/+", "sport", false },
        { "sport/+", "sport/", true },
        { "+/+", "/finance", true },
        { "/+", "/finance", true },
        { "+", "/finance", false },
        { "+", "finance", true },
        /* $-topics (MQTT-4.7.2-1) */
        { "#", "$SYS/uptime", false },
        { "+/monitor/Clients", "$SYS/monitor/Clients", false },
        { "$SYS/#", "$SYS/monitor/Clients", true },
        { "$SYS/monitor/+", "$SYS/monitor/Clients", true },
        { "a/$b", "a/$b", true },
        { "+/$b", "a/$b", true },
        /* exact and near misses */
        { "a/b", "a/b", true },
        { "a/b", "a/bc", false },
        { "a/bc", "a/b", false },
        { "a/b", "a/b/c", false },
        { "a/b/c", "a/b", false },
        { "a/#", "a/", true },
        { "a/#", "ab", false },
        { "a//b", "a//b", true },
        { "a/+/b", "a//b", true },
        { "+/+/+", "a/b", false },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const struct match_case *c = &cases[i];
        cr_expect_eq(mqtt_topic_matches(mqtt_cstr(c->filter), mqtt_cstr(c->topic)), c->match, "%s vs %s: want %d",
                     c->filter, c->topic, c->match);
    }
}

Test(bytes, cstr_and_eq)
{
    cr_expect_eq(mqtt_cstr(NULL).len, 0);
    cr_expect_eq(mqtt_cstr("abc").len, 3);
    cr_expect(mqtt_bytes_eq(mqtt_cstr(NULL), (mqtt_bytes){ NULL, 0 }));
    cr_expect(mqtt_bytes_eq(mqtt_cstr(""), mqtt_cstr(NULL)));
    cr_expect_not(mqtt_bytes_eq(mqtt_cstr("ab"), mqtt_cstr("ac")));
}
