/* The Linux timer wheel (kernel/time/timer.c, v6.1): when a kernel timer
 * (timer_list: TCP's keep-alive, retransmission and delayed-ACK timers) armed
 * for a number of jiffies really fires. Pure functions of HZ and jiffies.
 *
 * The wheel has LVL_DEPTH levels (9 when HZ > 100, else 8) of 64 buckets
 * (LVL_BITS 6); level n buckets are 8^n jiffies wide (LVL_CLK_SHIFT 3) and
 * hold timers due LVL_START(n) = 63 x 8^(n-1) jiffies or more from now
 * (level 0: under 63). A timer fires at the end of its bucket, rounded up to
 * the level's granularity (calc_index: (expires >> shift) + 1 << shift), so
 * never early and up to one granularity late. Due beyond the wheel's reach it
 * is clamped to WHEEL_TIMEOUT_MAX. */
#ifndef FLATLINE_MODEL_TIMER_WHEEL_H
#define FLATLINE_MODEL_TIMER_WHEEL_H

#include <stdint.h>

/* Jiffies in s seconds, rounded up (msecs_to_jiffies; whole seconds x HZ exactly). */
uint64_t fl_timer_wheel_jiffies(unsigned hz, double s);
/* The level a timer due delta jiffies from now lands in. */
int fl_timer_wheel_level(unsigned hz, uint64_t delta);
/* The width of a level's buckets in jiffies: 8^level. */
uint64_t fl_timer_wheel_granularity(int level);
/* The jiffy at which a timer armed at jiffy now for delta jiffies fires. */
uint64_t fl_timer_wheel_fire(unsigned hz, uint64_t now, uint64_t delta);
/* The most a timer armed for arm_s seconds can fire late, in seconds: its
 * level's granularity (75 s at HZ=250: 2.048 s; 7200 s: 131.072 s). */
double fl_timer_wheel_slack_s(unsigned hz, double arm_s);
/* The spacing of a timer that re-arms itself for arm_s from its own expiry,
 * as TCP's keep-alive probes do: a whole number of its level's buckets
 * (75 s at HZ=250: 37 x 512 jiffies = 75.776 s). */
double fl_timer_wheel_period_s(unsigned hz, double arm_s);

#endif
