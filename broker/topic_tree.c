#include "topic_tree.h"

#include <stdlib.h>
#include <string.h>

typedef struct sub {
    void *owner;
    uint32_t sub_id; /* v5 Subscription Identifier, 0 = none (same 16 bytes as without it) */
    uint8_t opts;
} sub;

typedef struct node node;
struct node {
    node *parent;
    node **kids; /* sorted by (len, bytes) */
    uint32_t nkids, kcap;
    sub *subs;
    uint32_t nsubs, scap;
    void *value;
    uint16_t len;
    uint8_t level[];
};

struct bk_tree {
    node *root;
    size_t nodes;
};

static node *node_new(node *parent, mqtt_bytes level)
{
    node *n = calloc(1, sizeof *n + level.len);
    if (!n)
        return NULL;
    n->parent = parent;
    n->len = (uint16_t)level.len;
    if (level.len)
        memcpy(n->level, level.data, level.len);
    return n;
}

bk_tree *bk_tree_new(void)
{
    bk_tree *t = calloc(1, sizeof *t);
    if (!t || !(t->root = node_new(NULL, (mqtt_bytes){ 0 }))) {
        free(t);
        return NULL;
    }
    t->nodes = 1;
    return t;
}

static void node_free(node *n, void (*free_value)(void *))
{
    for (uint32_t i = 0; i < n->nkids; i++)
        node_free(n->kids[i], free_value);
    if (n->value && free_value)
        free_value(n->value);
    free(n->kids);
    free(n->subs);
    free(n);
}

void bk_tree_free(bk_tree *t, void (*free_value)(void *))
{
    if (!t)
        return;
    node_free(t->root, free_value);
    free(t);
}

size_t bk_tree_node_count(const bk_tree *t) { return t->nodes; }

static int level_cmp(const node *n, mqtt_bytes level)
{
    if (n->len != level.len)
        return n->len < level.len ? -1 : 1;
    return level.len ? memcmp(n->level, level.data, level.len) : 0;
}

/* Index of level among n's children, or where it would go (with *found false). */
static uint32_t find_kid(const node *n, mqtt_bytes level, bool *found)
{
    uint32_t lo = 0, hi = n->nkids;
    while (lo < hi) {
        uint32_t mid = lo + (hi - lo) / 2;
        int c = level_cmp(n->kids[mid], level);
        if (c == 0) {
            *found = true;
            return mid;
        }
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    *found = false;
    return lo;
}

static node *kid(const node *n, mqtt_bytes level)
{
    bool found;
    uint32_t i = find_kid(n, level, &found);
    return found ? n->kids[i] : NULL;
}

static node *kid_add(bk_tree *t, node *n, mqtt_bytes level)
{
    bool found;
    uint32_t i = find_kid(n, level, &found);
    if (found)
        return n->kids[i];
    if (level.len > UINT16_MAX)
        return NULL;
    if (n->nkids == n->kcap) {
        uint32_t cap = n->kcap ? n->kcap * 2 : 2;
        node **k = realloc(n->kids, cap * sizeof *k);
        if (!k)
            return NULL;
        n->kids = k;
        n->kcap = cap;
    }
    node *c = node_new(n, level);
    if (!c)
        return NULL;
    memmove(n->kids + i + 1, n->kids + i, (n->nkids - i) * sizeof *n->kids);
    n->kids[i] = c;
    n->nkids++;
    t->nodes++;
    return c;
}

/* Splits off the next level of s at *pos; returns false past the end. */
static bool next_level(mqtt_bytes s, size_t *pos, mqtt_bytes *level)
{
    if (*pos > s.len)
        return false;
    const uint8_t *start = s.data + *pos;
    const uint8_t *slash = memchr(start, '/', s.len - *pos);
    size_t len = slash ? (size_t)(slash - start) : s.len - *pos;
    *level = (mqtt_bytes){ start, len };
    *pos += len + 1;
    return true;
}

static node *walk(bk_tree *t, mqtt_bytes topic, bool create)
{
    node *n = t->root;
    size_t pos = 0;
    mqtt_bytes level;
    while (n && next_level(topic, &pos, &level))
        n = create ? kid_add(t, n, level) : kid(n, level);
    return n;
}

/* Removes empty nodes from n upwards. */
static void prune(bk_tree *t, node *n)
{
    while (n->parent && !n->nkids && !n->nsubs && !n->value) {
        node *p = n->parent;
        bool found;
        uint32_t i = find_kid(p, (mqtt_bytes){ n->level, n->len }, &found);
        if (found) {
            memmove(p->kids + i, p->kids + i + 1, (p->nkids - i - 1) * sizeof *p->kids);
            p->nkids--;
        }
        if (!p->nkids) {
            free(p->kids);
            p->kids = NULL;
            p->kcap = 0;
        }
        free(n->kids);
        free(n->subs);
        free(n);
        t->nodes--;
        n = p;
    }
}

int bk_tree_subscribe(bk_tree *t, mqtt_bytes filter, void *owner, uint8_t opts, uint32_t sub_id)
{
    node *n = walk(t, filter, true);
    if (!n)
        return -1;
    for (uint32_t i = 0; i < n->nsubs; i++) {
        if (n->subs[i].owner == owner) {
            n->subs[i].opts = opts;
            n->subs[i].sub_id = sub_id;
            return 0;
        }
    }
    if (n->nsubs == n->scap) {
        uint32_t cap = n->scap ? n->scap * 2 : 1;
        sub *s = realloc(n->subs, cap * sizeof *s);
        if (!s) {
            prune(t, n);
            return -1;
        }
        n->subs = s;
        n->scap = cap;
    }
    n->subs[n->nsubs++] = (sub){ owner, sub_id, opts };
    return 1;
}

bool bk_tree_unsubscribe(bk_tree *t, mqtt_bytes filter, void *owner)
{
    node *n = walk(t, filter, false);
    if (!n)
        return false;
    for (uint32_t i = 0; i < n->nsubs; i++) {
        if (n->subs[i].owner == owner) {
            n->subs[i] = n->subs[--n->nsubs];
            if (!n->nsubs) {
                free(n->subs);
                n->subs = NULL;
                n->scap = 0;
            }
            prune(t, n);
            return true;
        }
    }
    return false;
}

static void report(const node *n, bk_match_fn fn, void *ctx)
{
    for (uint32_t i = 0; i < n->nsubs; i++)
        fn(n->subs[i].owner, n->subs[i].opts, n->subs[i].sub_id, ctx);
}

static void match(const node *n, mqtt_bytes topic, size_t pos, bool first, bk_match_fn fn, void *ctx)
{
    static const mqtt_bytes plus = { (const uint8_t *)"+", 1 }, hash = { (const uint8_t *)"#", 1 };
    mqtt_bytes level;
    if (!next_level(topic, &pos, &level)) {
        report(n, fn, ctx);
        /* "a/#" also matches "a" (MQTT-4.7.1-2). */
        const node *h = kid(n, hash);
        if (h)
            report(h, fn, ctx);
        return;
    }
    /* Wildcards in the first level do not match $-topics (MQTT-4.7.2-1). */
    if (!(first && level.len && level.data[0] == '$')) {
        const node *h = kid(n, hash);
        if (h)
            report(h, fn, ctx);
        const node *p = kid(n, plus);
        if (p)
            match(p, topic, pos, false, fn, ctx);
    }
    const node *e = kid(n, level);
    if (e)
        match(e, topic, pos, false, fn, ctx);
}

void bk_tree_match(const bk_tree *t, mqtt_bytes topic, bk_match_fn fn, void *ctx)
{
    match(t->root, topic, 0, true, fn, ctx);
}

int bk_tree_retain(bk_tree *t, mqtt_bytes topic, void *value, void **old)
{
    *old = NULL;
    node *n = walk(t, topic, value != NULL);
    if (!n)
        return value ? -1 : 0;
    *old = n->value;
    n->value = value;
    if (!value)
        prune(t, n);
    return 0;
}

static void all_values(const node *n, bool first, bk_value_fn fn, void *ctx)
{
    for (uint32_t i = 0; i < n->nkids; i++) {
        const node *k = n->kids[i];
        if (first && k->len && k->level[0] == '$')
            continue;
        if (k->value)
            fn(k->value, ctx);
        all_values(k, false, fn, ctx);
    }
}

static void match_retained(const node *n, mqtt_bytes filter, size_t pos, bool first, bk_value_fn fn, void *ctx)
{
    mqtt_bytes level;
    if (!next_level(filter, &pos, &level)) {
        if (n->value && n->parent)
            fn(n->value, ctx);
        return;
    }
    if (level.len == 1 && level.data[0] == '#') {
        if (n->value && n->parent)
            fn(n->value, ctx);
        all_values(n, first, fn, ctx);
        return;
    }
    if (level.len == 1 && level.data[0] == '+') {
        for (uint32_t i = 0; i < n->nkids; i++) {
            const node *k = n->kids[i];
            if (first && k->len && k->level[0] == '$')
                continue;
            match_retained(k, filter, pos, false, fn, ctx);
        }
        return;
    }
    const node *e = kid(n, level);
    if (e)
        match_retained(e, filter, pos, false, fn, ctx);
}

void bk_tree_match_retained(const bk_tree *t, mqtt_bytes filter, bk_value_fn fn, void *ctx)
{
    match_retained(t->root, filter, 0, true, fn, ctx);
}
