#include "keepalive.h"

#include <math.h>

uint64_t bk_ka_period_ns(double grace, uint32_t seconds)
{
    if (seconds == 0 || !(grace > 0))
        return 0;
    /* Integer arithmetic on grace in millionths, so 1.5 x 2 s is exactly
     * 3,000,000,000 ns on every FPU (and under valgrind, whose long double
     * is only a double). */
    uint64_t grace_micro = (uint64_t)llround(grace * 1e6);
    return (uint64_t)seconds * grace_micro * UINT64_C(1000);
}

bk_ka_grant bk_ka_decide(const bk_ka_config *cfg, mqtt_version version, uint16_t asked)
{
    bk_ka_grant g = { .granted = asked };
    if (asked == 0 && cfg->zero_ceiling) {
        g.granted = cfg->zero_ceiling;
        g.send_server_ka = true;
    }
    if (cfg->max_keepalive && g.granted > cfg->max_keepalive) {
        if (version != MQTT_V5 && cfg->v3_refuse_over_max && asked != 0) {
            g.refuse = true;
            g.granted = 0;
            return g;
        }
        g.granted = cfg->max_keepalive;
        g.send_server_ka = true;
    }
    /* 3.1.1 has no way to tell the client; the broker enforces it silently. */
    if (version != MQTT_V5)
        g.send_server_ka = false;
    g.period_ns = bk_ka_period_ns(cfg->grace, g.granted);
    return g;
}

uint64_t bk_ka_deadline(uint64_t last_rx_ns, uint64_t period_ns)
{
    if (period_ns == 0 || last_rx_ns > BK_NEVER - period_ns)
        return BK_NEVER;
    return last_rx_ns + period_ns;
}

uint64_t bk_idle_deadline(const bk_ka_config *cfg, uint64_t last_app_rx_ns)
{
    return bk_ka_deadline(last_app_rx_ns, (uint64_t)cfg->idle_timeout * UINT64_C(1000000000));
}

bk_ka_due bk_ka_check(uint64_t now_ns, uint64_t ka_deadline, uint64_t idle_deadline, uint64_t *deadline_ns)
{
    bool ka = ka_deadline != BK_NEVER && now_ns >= ka_deadline;
    bool idle = idle_deadline != BK_NEVER && now_ns >= idle_deadline;
    if (ka && (!idle || ka_deadline <= idle_deadline)) {
        *deadline_ns = ka_deadline;
        return BK_KA_KEEPALIVE;
    }
    if (idle) {
        *deadline_ns = idle_deadline;
        return BK_KA_IDLE;
    }
    return BK_KA_NOT_DUE;
}
