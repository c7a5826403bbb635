/* The subscription and retained trees: MQTT 4.7 matching rules. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "broker/topic_tree.h"

typedef struct hits {
    int n;
    void *owners[16];
    uint8_t opts[16];
} hits;

static void on_hit(void *owner, uint8_t opts, uint32_t sub_id, void *ctx)
{
    (void)sub_id;
    hits *h = ctx;
    h->owners[h->n] = owner;
    h->opts[h->n++] = opts;
}

static int count(bk_tree *t, const char *topic)
{
    hits h = { 0 };
    bk_tree_match(t, mqtt_cstr(topic), on_hit, &h);
    return h.n;
}

static int A, B, C;

Test(topic_tree, exact_plus_and_hash)
{
    bk_tree *t = bk_tree_new();
    cr_assert_eq(bk_tree_subscribe(t, mqtt_cstr("a/b/c"), &A, 1, 0), 1);
    cr_assert_eq(bk_tree_subscribe(t, mqtt_cstr("a/+/c"), &B, 0, 0), 1);
    cr_assert_eq(bk_tree_subscribe(t, mqtt_cstr("a/#"), &C, 2, 0), 1);
    cr_assert_eq(count(t, "a/b/c"), 3);
    cr_assert_eq(count(t, "a/x/c"), 2);
    cr_assert_eq(count(t, "a/b"), 1);
    cr_assert_eq(count(t, "a"), 1, "a/# matches the parent level a");
    cr_assert_eq(count(t, "b/b/c"), 0);
    cr_assert_eq(count(t, "a/b/c/d"), 1);
    bk_tree_free(t, NULL);
}

Test(topic_tree, dollar_topics_not_matched_by_leading_wildcards)
{
    bk_tree *t = bk_tree_new();
    bk_tree_subscribe(t, mqtt_cstr("#"), &A, 0, 0);
    bk_tree_subscribe(t, mqtt_cstr("+/monitor"), &B, 0, 0);
    bk_tree_subscribe(t, mqtt_cstr("$SYS/#"), &C, 0, 0);
    cr_assert_eq(count(t, "$SYS/monitor"), 1);
    cr_assert_eq(count(t, "x/monitor"), 2);
    bk_tree_free(t, NULL);
}

Test(topic_tree, empty_levels_and_plus_at_end)
{
    bk_tree *t = bk_tree_new();
    bk_tree_subscribe(t, mqtt_cstr("+/+"), &A, 0, 0);
    bk_tree_subscribe(t, mqtt_cstr("/+"), &B, 0, 0);
    bk_tree_subscribe(t, mqtt_cstr("a/+"), &C, 0, 0);
    cr_assert_eq(count(t, "/finance"), 2);
    cr_assert_eq(count(t, "a/"), 2, "+ matches an empty level");
    cr_assert_eq(count(t, "a"), 0);
    bk_tree_free(t, NULL);
}

Test(topic_tree, resubscribe_replaces_and_unsubscribe_prunes)
{
    bk_tree *t = bk_tree_new();
    size_t base = bk_tree_node_count(t);
    cr_assert_eq(bk_tree_subscribe(t, mqtt_cstr("x/y/z"), &A, 0, 0), 1);
    cr_assert_eq(bk_tree_subscribe(t, mqtt_cstr("x/y/z"), &A, 2, 0), 0);
    hits h = { 0 };
    bk_tree_match(t, mqtt_cstr("x/y/z"), on_hit, &h);
    cr_assert_eq(h.n, 1);
    cr_assert_eq(h.opts[0], 2);
    cr_assert(bk_tree_unsubscribe(t, mqtt_cstr("x/y/z"), &A));
    cr_assert_not(bk_tree_unsubscribe(t, mqtt_cstr("x/y/z"), &A));
    cr_assert_eq(bk_tree_node_count(t), base, "empty nodes are pruned");
    cr_assert_eq(count(t, "x/y/z"), 0);
    bk_tree_free(t, NULL);
}

Test(topic_tree, many_siblings_sorted)
{
    bk_tree *t = bk_tree_new();
    static int owners[500];
    char topic[32];
    for (int i = 0; i < 500; i++) {
        snprintf(topic, sizeof topic, "dev/%d/cmd", (i * 7919) % 500);
        cr_assert_eq(bk_tree_subscribe(t, mqtt_cstr(topic), &owners[i], 0, 0), 1);
    }
    for (int i = 0; i < 500; i++) {
        snprintf(topic, sizeof topic, "dev/%d/cmd", i);
        cr_assert_eq(count(t, topic), 1, "%s", topic);
    }
    bk_tree_free(t, NULL);
}

typedef struct values {
    int n;
    const char *v[16];
} values;

static void on_value(void *value, void *ctx)
{
    values *vs = ctx;
    vs->v[vs->n++] = value;
}

static int rcount(bk_tree *t, const char *filter)
{
    values vs = { 0 };
    bk_tree_match_retained(t, mqtt_cstr(filter), on_value, &vs);
    return vs.n;
}

Test(topic_tree, retained_matching)
{
    bk_tree *t = bk_tree_new();
    void *old;
    cr_assert_eq(bk_tree_retain(t, mqtt_cstr("a"), "1", &old), 0);
    bk_tree_retain(t, mqtt_cstr("a/b"), "2", &old);
    bk_tree_retain(t, mqtt_cstr("a/b/c"), "3", &old);
    bk_tree_retain(t, mqtt_cstr("$SYS/x"), "4", &old);
    cr_assert_eq(rcount(t, "#"), 3);
    cr_assert_eq(rcount(t, "a/#"), 3);
    cr_assert_eq(rcount(t, "a/+"), 1);
    cr_assert_eq(rcount(t, "+/+/c"), 1);
    cr_assert_eq(rcount(t, "$SYS/#"), 1);
    cr_assert_eq(rcount(t, "+/x"), 0);
    bk_tree_retain(t, mqtt_cstr("a/b"), "5", &old);
    cr_assert_str_eq(old, "2");
    bk_tree_retain(t, mqtt_cstr("a/b/c"), NULL, &old);
    cr_assert_str_eq(old, "3");
    cr_assert_eq(rcount(t, "a/#"), 2);
    bk_tree_free(t, NULL);
}
