/* SPDX-License-Identifier: BSD-2-Clause */
/* Unit tests of the key-value store's input checks (examples/kv/check.c). */
#include "test.h"

#include <string.h>

#include "../../examples/kv/check.h"

static bool json(const char *s)
{
    return kv_json_valid(s, strlen(s));
}

static bool key(const char *s)
{
    return kv_key_valid(s, strlen(s));
}

TEST(keys)
{
    char k[KV_KEY_MAX + 2];
    CHECK(key("a") && key("user-1.profile_v2") && key("A.b-C_9"));
    CHECK(!key("") && !key(".") && !key("..") && !key(".hidden") && !key("a/b"));
    CHECK(!key("a b") && !key("a\\b") && !key("é") && !key("a%2F"));
    CHECK(!kv_key_valid("a\0b", 3));
    memset(k, 'k', sizeof(k));
    CHECK(kv_key_valid(k, KV_KEY_MAX));
    CHECK(!kv_key_valid(k, KV_KEY_MAX + 1));
}

TEST(json_accepted)
{
    static const char *const good[] = {"0",
                                       "-0",
                                       "1.5",
                                       "-12.5e+10",
                                       "1E-2",
                                       "true",
                                       "false",
                                       "null",
                                       "\"\"",
                                       "\"a\\\"b\\\\\"",
                                       "\"\\u00e9\\ud83d\\ude00\"",
                                       "\"\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\"",
                                       "[]",
                                       "{}",
                                       " [ 1 , [2] , {\"a\" : {}} ] ",
                                       "{\"a\":1,\"b\":[true,null],\"c\":\"d\"}",
                                       "\t\r\n1\n"};
    for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++)
        CHECK(json(good[i]));
    char deep[2 * KV_JSON_DEPTH + 1];
    memset(deep, '[', KV_JSON_DEPTH);
    memset(deep + KV_JSON_DEPTH, ']', KV_JSON_DEPTH);
    deep[2 * KV_JSON_DEPTH] = 0;
    CHECK(json(deep));
}

TEST(json_refused)
{
    static const char *const bad[] = {"",
                                      " ",
                                      "01",
                                      "1.",
                                      ".5",
                                      "-",
                                      "1e",
                                      "+1",
                                      "0x1",
                                      "tru",
                                      "nul",
                                      "True",
                                      "\"",
                                      "\"a",
                                      "\"\\x\"",
                                      "\"\\u12\"",
                                      "\"\\ud800\"",
                                      "\"\\udc00\"",
                                      "\"\\ud800\\u0041\"",
                                      "\"\x01\"",
                                      "\"\xc0\xae\"",
                                      "\"\xed\xa0\x80\"",
                                      "\"\xf4\x90\x80\x80\"",
                                      "\"\xe2\x82\"",
                                      "[",
                                      "[1,]",
                                      "[,1]",
                                      "{\"a\"}",
                                      "{\"a\":}",
                                      "{a:1}",
                                      "{\"a\":1,}",
                                      "{1:2}",
                                      "[1 2]",
                                      "1 2",
                                      "{}{}",
                                      "[]]",
                                      "]",
                                      "NaN",
                                      "Infinity"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        if (json(bad[i])) {
            CHECK(!bad[i]);
        }
    }
    CHECK(!kv_json_valid("\"a\0\"", 4));
    char deep[2 * KV_JSON_DEPTH + 3];
    memset(deep, '[', KV_JSON_DEPTH + 1);
    memset(deep + KV_JSON_DEPTH + 1, ']', KV_JSON_DEPTH + 1);
    deep[2 * KV_JSON_DEPTH + 2] = 0;
    CHECK(!json(deep));
}
