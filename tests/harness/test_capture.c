/* The wire capture turns a broker's FIN or RST into an event naming the
 * client's side of the connection; everything else is ignored. */
#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <pcap/pcap.h>
#include <string.h>

#include "harness/wire/capture.h"

static size_t frame(uint8_t *buf, const char *src, uint16_t sport, const char *dst, uint16_t dport, uint8_t flags)
{
    memset(buf, 0, 16 + 40);
    uint8_t *ip = buf + 16, *tcp = ip + 20; /* DLT_LINUX_SLL: 16-byte header */
    ip[0] = 0x45;
    ip[9] = 6;
    inet_pton(AF_INET, src, ip + 12);
    inet_pton(AF_INET, dst, ip + 16);
    tcp[0] = (uint8_t)(sport >> 8), tcp[1] = (uint8_t)sport;
    tcp[2] = (uint8_t)(dport >> 8), tcp[3] = (uint8_t)dport;
    tcp[12] = 0x50;
    tcp[13] = flags;
    return 16 + 40;
}

Test(capture, fin_and_rst_from_the_broker_only)
{
    uint8_t buf[64];
    uint32_t broker;
    inet_pton(AF_INET, "198.18.0.1", &broker);
    size_t n = frame(buf, "198.18.0.1", 1883, "198.18.1.2", 40312, 0x11);
    json_t *ev = fl_capture_parse(DLT_LINUX_SLL, buf, n, broker, 1883, 42);
    cr_assert_not_null(ev);
    cr_expect_str_eq(json_string_value(json_object_get(ev, "ev")), "broker_fin");
    cr_expect_str_eq(json_string_value(json_object_get(ev, "conn")), "198.18.1.2:40312");
    cr_expect_eq(json_integer_value(json_object_get(ev, "t")), 42);
    json_decref(ev);
    n = frame(buf, "198.18.0.1", 1883, "198.18.1.2", 40312, 0x14);
    ev = fl_capture_parse(DLT_LINUX_SLL, buf, n, broker, 1883, 1);
    cr_expect_str_eq(json_string_value(json_object_get(ev, "ev")), "broker_rst");
    json_decref(ev);
    n = frame(buf, "198.18.1.2", 40312, "198.18.0.1", 1883, 0x11); /* the client's FIN */
    cr_expect_null(fl_capture_parse(DLT_LINUX_SLL, buf, n, broker, 1883, 1));
    n = frame(buf, "198.18.0.1", 1883, "198.18.1.2", 40312, 0x18); /* data */
    cr_expect_null(fl_capture_parse(DLT_LINUX_SLL, buf, n, broker, 1883, 1));
    cr_expect_null(fl_capture_parse(DLT_LINUX_SLL, buf, 20, broker, 1883, 1)); /* truncated */
}
