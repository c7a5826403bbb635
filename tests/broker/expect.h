/* The protocol-core tests' assertions on what the broker sent a fake client:
 * the next packet is of this type, or there is none. Include after
 * fake_net.h, in Criterion tests. */
#ifndef FLATLINE_TESTS_BROKER_EXPECT_H
#define FLATLINE_TESTS_BROKER_EXPECT_H

#include <criterion/criterion.h>

#include "fake_net.h"

static inline mqtt_packet expect(fake_client *fc, mqtt_type type)
{
    mqtt_packet p;
    cr_assert(fake_next(fc, &p), "expected %s, got nothing", mqtt_type_name(type));
    cr_assert_eq(p.type, type, "expected %s, got %s", mqtt_type_name(type), mqtt_type_name(p.type));
    return p;
}

static inline void expect_nothing(fake_client *fc)
{
    mqtt_packet p;
    cr_assert_not(fake_next(fc, &p), "unexpected %s", mqtt_type_name(p.type));
}

#endif
