#include "session.h"

#include "alias.h"

#include <stdlib.h>
#include <string.h>

static uint64_t hash_id(const char *id, size_t len)
{
    uint64_t h = UINT64_C(1469598103934665603); /* FNV-1a */
    for (size_t i = 0; i < len; i++) {
        h ^= (uint8_t)id[i];
        h *= UINT64_C(1099511628211);
    }
    return h;
}

void bk_sessions_init(bk_sessions *t) { memset(t, 0, sizeof *t); }

void bk_sessions_free(bk_sessions *t)
{
    free(t->buckets);
    memset(t, 0, sizeof *t);
}

bk_session *bk_sessions_find(const bk_sessions *t, const char *id, size_t len)
{
    if (!t->nbuckets)
        return NULL;
    for (bk_session *s = t->buckets[hash_id(id, len) & (t->nbuckets - 1)]; s; s = s->hnext)
        if (strncmp(s->id, id, len) == 0 && s->id[len] == 0)
            return s;
    return NULL;
}

static int grow(bk_sessions *t)
{
    size_t n = t->nbuckets ? t->nbuckets * 2 : 64;
    bk_session **b = calloc(n, sizeof *b);
    if (!b)
        return -1;
    for (size_t i = 0; i < t->nbuckets; i++) {
        for (bk_session *s = t->buckets[i], *next; s; s = next) {
            next = s->hnext;
            size_t j = hash_id(s->id, strlen(s->id)) & (n - 1);
            s->hnext = b[j];
            b[j] = s;
        }
    }
    free(t->buckets);
    t->buckets = b;
    t->nbuckets = n;
    return 0;
}

bk_session *bk_sessions_add(bk_sessions *t, const char *id, size_t len)
{
    /* Two sessions a bucket on average: short chains, 4 bytes a session. */
    if (t->count >= 2 * t->nbuckets && grow(t) < 0)
        return NULL;
    bk_session *s = calloc(1, sizeof *s + len + 1);
    if (!s)
        return NULL;
    memcpy(s->id, id, len);
    s->id[len] = 0;
    s->next_packet_id = 1;
    size_t j = hash_id(id, len) & (t->nbuckets - 1);
    s->hnext = t->buckets[j];
    t->buckets[j] = s;
    t->count++;
    return s;
}

void bk_sessions_remove(bk_sessions *t, bk_session *s)
{
    if (!t->nbuckets)
        return;
    bk_session **p = &t->buckets[hash_id(s->id, strlen(s->id)) & (t->nbuckets - 1)];
    for (; *p; p = &(*p)->hnext) {
        if (*p == s) {
            *p = s->hnext;
            s->hnext = NULL;
            t->count--;
            return;
        }
    }
}

void bk_sessions_each(bk_sessions *t, void (*fn)(bk_session *s, void *ctx), void *ctx)
{
    for (size_t i = 0; i < t->nbuckets; i++) {
        for (bk_session *s = t->buckets[i], *next; s; s = next) {
            next = s->hnext;
            fn(s, ctx);
        }
    }
}

bk_session_ext *bk_session_ext_get(bk_session *s, void *broker, fl_timer_fn timer_fn)
{
    if (!s->x) {
        s->x = calloc(1, sizeof *s->x);
        if (!s->x)
            return NULL;
        s->x->broker = broker;
        fl_timer_init(&s->x->timer, timer_fn, s);
    }
    return s->x;
}

void bk_session_clear_messages(bk_session *s)
{
    bk_session_ext *x = s->x;
    if (!x)
        return;
    for (bk_out *o = x->head, *next; o; o = next) {
        next = o->next;
        bk_msg_unref(o->msg);
        free(o->sub_ids);
        free(o);
    }
    x->head = x->tail = x->cursor = NULL;
    x->inflight = x->queued = 0;
    x->nqos2_in = 0;
}

void bk_session_free(bk_session *s)
{
    if (!s)
        return;
    bk_session_clear_messages(s);
    for (uint32_t i = 0; i < s->nsubs; i++)
        free(s->subs[i].data);
    free(s->subs);
    if (s->x) {
        free(s->x->qos2_in);
        bk_msg_unref(s->x->will);
        free(s->x->will_conn);
        bk_alias_free(s->x->alias);
        free(s->x);
    }
    free(s);
}

bk_out *bk_session_enqueue(bk_session *s, bk_msg *msg, uint8_t qos, bool retain, const uint32_t *sub_ids,
                           uint16_t nsub_ids, struct bk_share *share)
{
    bk_session_ext *x = s->x;
    bk_out *o = x ? calloc(1, sizeof *o) : NULL;
    if (!o)
        return NULL;
    if (nsub_ids) {
        if (!(o->sub_ids = malloc(nsub_ids * sizeof *o->sub_ids))) {
            free(o);
            return NULL;
        }
        memcpy(o->sub_ids, sub_ids, nsub_ids * sizeof *o->sub_ids);
        o->nsub_ids = nsub_ids;
    }
    o->share = share;
    o->msg = bk_msg_ref(msg);
    o->qos = qos;
    o->retain = retain;
    o->state = BK_OUT_QUEUED;
    if (x->tail)
        x->tail->next = o;
    else
        x->head = o;
    x->tail = o;
    if (!x->cursor)
        x->cursor = o;
    x->queued++;
    return o;
}

bk_out *bk_session_find_sent(bk_session *s, uint16_t packet_id)
{
    if (!s->x)
        return NULL;
    for (bk_out *o = s->x->head; o && o != s->x->cursor; o = o->next)
        if (o->packet_id == packet_id)
            return o;
    return NULL;
}

void bk_session_drop(bk_session *s, bk_out *o)
{
    bk_session_ext *x = s->x;
    bk_out *prev = NULL;
    for (bk_out *p = x->head; p && p != o; p = p->next)
        prev = p;
    if (prev)
        prev->next = o->next;
    else
        x->head = o->next;
    if (x->tail == o)
        x->tail = prev;
    if (x->cursor == o)
        x->cursor = o->next;
    if (o->state == BK_OUT_QUEUED)
        x->queued--;
    else
        x->inflight--;
    bk_msg_unref(o->msg);
    free(o->sub_ids);
    free(o);
}

uint16_t bk_session_next_id(bk_session *s)
{
    for (;;) {
        uint16_t id = s->next_packet_id++;
        if (s->next_packet_id == 0)
            s->next_packet_id = 1;
        if (id && !bk_session_find_sent(s, id))
            return id;
    }
}

bool bk_session_qos2_has(const bk_session *s, uint16_t id)
{
    if (!s->x)
        return false;
    for (uint16_t i = 0; i < s->x->nqos2_in; i++)
        if (s->x->qos2_in[i] == id)
            return true;
    return false;
}

int bk_session_qos2_add(bk_session *s, uint16_t id)
{
    bk_session_ext *x = s->x;
    if (!x)
        return -1;
    if (x->nqos2_in == x->qos2_cap) {
        if (x->qos2_cap == UINT16_MAX)
            return -1;
        uint16_t cap = x->qos2_cap ? (uint16_t)(x->qos2_cap > UINT16_MAX / 2 ? UINT16_MAX : x->qos2_cap * 2) : 4;
        uint16_t *a = realloc(x->qos2_in, cap * sizeof *a);
        if (!a)
            return -1;
        x->qos2_in = a;
        x->qos2_cap = cap;
    }
    x->qos2_in[x->nqos2_in++] = id;
    return 0;
}

bool bk_session_qos2_remove(bk_session *s, uint16_t id)
{
    bk_session_ext *x = s->x;
    for (uint16_t i = 0; x && i < x->nqos2_in; i++) {
        if (x->qos2_in[i] == id) {
            x->qos2_in[i] = x->qos2_in[--x->nqos2_in];
            return true;
        }
    }
    return false;
}

static int filter_find(const bk_session *s, mqtt_bytes f)
{
    for (uint32_t i = 0; i < s->nsubs; i++)
        if (s->subs[i].len == f.len && memcmp(s->subs[i].data, f.data, f.len) == 0)
            return (int)i;
    return -1;
}

int bk_session_filter_add(bk_session *s, mqtt_bytes filter)
{
    if (filter_find(s, filter) >= 0)
        return 0;
    if (s->nsubs == s->subs_cap) {
        uint32_t cap = s->subs_cap ? s->subs_cap * 2 : 2;
        bk_filter *a = realloc(s->subs, cap * sizeof *a);
        if (!a)
            return -1;
        s->subs = a;
        s->subs_cap = cap;
    }
    uint8_t *copy = malloc(filter.len ? filter.len : 1);
    if (!copy)
        return -1;
    if (filter.len)
        memcpy(copy, filter.data, filter.len);
    s->subs[s->nsubs++] = (bk_filter){ copy, (uint16_t)filter.len };
    return 0;
}

bool bk_session_filter_remove(bk_session *s, mqtt_bytes filter)
{
    int i = filter_find(s, filter);
    if (i < 0)
        return false;
    free(s->subs[i].data);
    s->subs[i] = s->subs[--s->nsubs];
    return true;
}
