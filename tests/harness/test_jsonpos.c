/* The position index maps JSON paths to line:column of values and keys. */
#include <criterion/criterion.h>
#include <string.h>

#include "harness/scenario/jsonpos.h"

static fl_textpos find(const fl_jsonpos *idx, const char *path, bool key)
{
    fl_textpos pos = { 0, 0 };
    cr_assert(fl_jsonpos_find(idx, path, key, &pos), "path %s not indexed", path);
    return pos;
}

Test(jsonpos, values_and_keys)
{
    const char *text = "{\n  \"a\": 1,\n  \"list\": [true, {\"x\": \"y\"}],\n  \"n\": -1.5e3\n}\n";
    fl_jsonpos *idx = fl_jsonpos_build(text, strlen(text));
    cr_assert_not_null(idx);
    fl_textpos p = find(idx, "$", false);
    cr_expect_eq(p.line, 1);
    cr_expect_eq(p.column, 1);
    p = find(idx, "$.a", false);
    cr_expect_eq(p.line, 2);
    cr_expect_eq(p.column, 8);
    p = find(idx, "$.a", true);
    cr_expect_eq(p.column, 3);
    p = find(idx, "$.list[1].x", false);
    cr_expect_eq(p.line, 3);
    cr_expect_eq(p.column, 24);
    p = find(idx, "$.list[0]", false);
    cr_expect_eq(p.column, 12);
    p = find(idx, "$.n", false);
    cr_expect_eq(p.line, 4);
    cr_expect_eq(p.column, 8);
    fl_textpos none;
    cr_expect_not(fl_jsonpos_find(idx, "$.missing", false, &none));
    fl_jsonpos_free(idx);
}

Test(jsonpos, odd_keys_use_bracket_paths)
{
    /* escapes in keys are decoded by jansson; non-identifiers are quoted */
    const char *text = "{\"net.ipv4.x\": 1, \"a\\\"b\": {\"\\u00e9t\\u00e9\": 2}}";
    fl_jsonpos *idx = fl_jsonpos_build(text, strlen(text));
    cr_assert_not_null(idx);
    fl_textpos p = find(idx, "$[\"net.ipv4.x\"]", false);
    cr_expect_eq(p.column, 16);
    find(idx, "$[\"a\\\"b\"][\"été\"]", false);
    fl_jsonpos_free(idx);
}

Test(jsonpos, columns_count_characters_like_jansson)
{
    const char *text = "{\"é\": \"ü\", \"k\": 3}";
    fl_jsonpos *idx = fl_jsonpos_build(text, strlen(text));
    fl_textpos p = find(idx, "$.k", false);
    cr_expect_eq(p.column, 17); /* 2 two-byte characters count once each */
    fl_jsonpos_free(idx);
}

Test(jsonpath, builds_paths)
{
    char path[64] = "$";
    cr_assert(fl_jsonpath_member(path, sizeof path, "groups"));
    cr_assert(fl_jsonpath_index(path, sizeof path, 12));
    cr_assert(fl_jsonpath_member(path, sizeof path, "a b"));
    cr_expect_str_eq(path, "$.groups[12][\"a b\"]");
    char small[8] = "$";
    cr_expect_not(fl_jsonpath_member(small, sizeof small, "toolongname"));
    cr_expect_str_eq(small, "$");
}
