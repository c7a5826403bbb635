#include "shared_sub.h"

#include <stdlib.h>
#include <string.h>

#include "internal.h"

int bk_share_parse(mqtt_bytes f, mqtt_bytes *filter)
{
    static const char prefix[] = "$share/";
    if (f.len < sizeof prefix - 1 || memcmp(f.data, prefix, sizeof prefix - 1) != 0)
        return 0;
    size_t i = sizeof prefix - 1, start = i;
    while (i < f.len && f.data[i] != '/') {
        if (f.data[i] == '+' || f.data[i] == '#')
            return -1;
        i++;
    }
    if (i == start || i >= f.len - 1) /* empty ShareName, or no filter after it */
        return -1;
    *filter = (mqtt_bytes){ f.data + i + 1, f.len - i - 1 };
    return 1;
}

static bk_share *find(bk_broker *b, mqtt_bytes full)
{
    for (bk_share *g = b->shares; g; g = g->next)
        if (g->name_len == full.len && memcmp(g->name, full.data, full.len) == 0)
            return g;
    return NULL;
}

int bk_share_subscribe(bk_broker *b, mqtt_bytes full, bk_session *s, uint8_t opts, uint32_t sub_id)
{
    mqtt_bytes filter;
    if (bk_share_parse(full, &filter) != 1)
        return -1;
    bk_share *g = find(b, full);
    if (!g) {
        if (!(g = calloc(1, sizeof *g + full.len)))
            return -1;
        memcpy(g->name, full.data, full.len);
        g->name_len = (uint16_t)full.len;
        g->filter = (mqtt_bytes){ g->name + (filter.data - full.data), filter.len };
        if (bk_tree_subscribe(b->subs, g->filter, g, BK_OPT_SHARED, 0) < 0) {
            free(g);
            return -1;
        }
        g->next = b->shares;
        b->shares = g;
    }
    for (uint32_t i = 0; i < g->n; i++) {
        if (g->m[i].s == s) {
            g->m[i].opts = opts;
            g->m[i].sub_id = sub_id;
            return 0;
        }
    }
    if (g->n == g->cap) {
        uint32_t cap = g->cap ? g->cap * 2 : 4;
        bk_share_member *m = realloc(g->m, cap * sizeof *m);
        if (!m)
            return -1; /* an empty new group stays until its filter is used again or the broker ends */
        g->m = m;
        g->cap = cap;
    }
    g->m[g->n++] = (bk_share_member){ s, sub_id, opts };
    return 1;
}

static bool online(const bk_session *s) { return s->conn && s->conn->connected; }

static bk_share_member *pick(bk_share *g, const bk_session *not)
{
    for (int pass = 0; pass < 2; pass++) {
        for (uint32_t k = 0; k < g->n; k++) {
            uint32_t i = (g->rr + k) % g->n;
            bk_share_member *m = &g->m[i];
            if (m->s == not || (pass == 0 && !online(m->s)))
                continue;
            g->rr = (i + 1) % g->n;
            return m;
        }
    }
    return NULL;
}

static void deliver_to(bk_broker *b, bk_share *g, bk_share_member *m, bk_msg *msg)
{
    uint8_t qos = msg->qos < BK_OPT_QOS(m->opts) ? msg->qos : BK_OPT_QOS(m->opts);
    bool retain = (m->opts & BK_OPT_RAP) ? msg->retain : false;
    bk_deliver(b, m->s, msg, qos, retain, m->sub_id ? &m->sub_id : NULL, m->sub_id ? 1 : 0, g);
}

void bk_share_route(bk_broker *b, bk_share *g, bk_msg *msg)
{
    bk_share_member *m = pick(g, NULL);
    if (m)
        deliver_to(b, g, m, msg);
}

/* Hands what s holds from g to another member (its session is ending). */
static void hand_over(bk_broker *b, bk_share *g, bk_session *s)
{
    bk_session_ext *x = s->x;
    if (!x)
        return;
    for (bk_out *o = x->head, *next; o; o = next) {
        next = o->next;
        if (o->share != g)
            continue;
        o->share = NULL;
        if (!o->msg || o->state == BK_OUT_WAIT_COMP)
            continue; /* QoS 2 past PUBREC: the member has it */
        bk_share_member *m = pick(g, s);
        if (m) {
            bk_msg *msg = bk_msg_ref(o->msg);
            bk_session_drop(s, o);
            deliver_to(b, g, m, msg);
            bk_msg_unref(msg);
        }
    }
}

bool bk_share_unsubscribe(bk_broker *b, mqtt_bytes full, bk_session *s, bool session_ends)
{
    bk_share *g = find(b, full);
    if (!g)
        return false;
    uint32_t i = 0;
    while (i < g->n && g->m[i].s != s)
        i++;
    if (i == g->n)
        return false;
    if (session_ends) {
        hand_over(b, g, s);
    } else if (s->x) {
        for (bk_out *o = s->x->head; o; o = o->next)
            if (o->share == g)
                o->share = NULL;
    }
    g->m[i] = g->m[--g->n];
    if (g->rr >= g->n)
        g->rr = 0;
    if (g->n == 0) {
        bk_tree_unsubscribe(b->subs, g->filter, g);
        bk_share **p = &b->shares;
        while (*p != g)
            p = &(*p)->next;
        *p = g->next;
        free(g->m);
        free(g);
    }
    return true;
}

void bk_shares_free(bk_broker *b)
{
    for (bk_share *g = b->shares, *next; g; g = next) {
        next = g->next;
        free(g->m);
        free(g);
    }
    b->shares = NULL;
}
