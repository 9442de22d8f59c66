/* SPDX-License-Identifier: BSD-2-Clause */
/* Unit tests of `miura new`'s name check and template filling (host/launcher/new.c). */
#include "test.h"

#include <string.h>

#include "launcher/new.h"

TEST(names)
{
    char long_name[66];
    CHECK(appliance_name_valid("hello") && appliance_name_valid("kv2") &&
          appliance_name_valid("my_app-1"));
    CHECK(!appliance_name_valid("") && !appliance_name_valid("Hello") &&
          !appliance_name_valid("1app") && !appliance_name_valid("-x") &&
          !appliance_name_valid("a/b") && !appliance_name_valid("..") &&
          !appliance_name_valid("a b") && !appliance_name_valid("a.c") &&
          !appliance_name_valid("a$b") && !appliance_name_valid("a'b"));
    memset(long_name, 'a', 64);
    long_name[64] = '\0';
    CHECK(appliance_name_valid(long_name));
    long_name[64] = 'a';
    long_name[65] = '\0';
    CHECK(!appliance_name_valid(long_name));
}

TEST(fill)
{
    static const char t[] = "NAME := @NAME@\nMIURA ?= @PREFIX@\n@NAME@@ @NAME @PREFIX";
    char out[128];
    size_t n = template_fill(t, sizeof(t) - 1, "kv", "/opt/miura", out, sizeof(out));
    static const char want[] = "NAME := kv\nMIURA ?= /opt/miura\nkv@ @NAME @PREFIX";
    CHECK(n == sizeof(want) - 1);
    CHECK(strcmp(out, want) == 0);
    /* exactly full (the NUL needs one byte more) and one byte short */
    CHECK(template_fill(t, sizeof(t) - 1, "kv", "/opt/miura", out, sizeof(want)) ==
          sizeof(want) - 1);
    CHECK(template_fill(t, sizeof(t) - 1, "kv", "/opt/miura", out, sizeof(want) - 1) == (size_t)-1);
    CHECK(template_fill("", 0, "kv", "/p", out, 1) == 0 && out[0] == '\0');
}
