/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Fuzz target for the key-value store's input checks (examples/kv/check.c):
 * arbitrary bytes as a JSON value and as a key. Besides the sanitizers:
 * an accepted key is a safe file name; a JSON text stays accepted with
 * whitespace around it, and is refused when cut short or followed by a
 * second value.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../examples/kv/check.h"

#define REQUIRE(cond)         \
    do {                      \
        if (!(cond))          \
            __builtin_trap(); \
    } while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *s = (const char *)data;

    if (kv_key_valid(s, size)) {
        REQUIRE(size >= 1 && size <= KV_KEY_MAX && s[0] != '.');
        REQUIRE(memchr(s, '/', size) == NULL && memchr(s, '\0', size) == NULL);
    }
    if (kv_json_valid(s, size)) {
        char *w = malloc(size + 2);
        if (!w)
            return 0;
        w[0] = ' ';
        memcpy(w + 1, s, size);
        w[size + 1] = '\n';
        REQUIRE(kv_json_valid(w, size + 2));
        /* a scalar or container followed by another container is two values */
        memcpy(w, s, size);
        w[size] = '[';
        w[size + 1] = ']';
        REQUIRE(!kv_json_valid(w, size + 2));
        free(w);
        /* cut before a closing bracket or quote: never whole */
        if (size > 1 && (s[size - 1] == ']' || s[size - 1] == '}' || s[size - 1] == '"'))
            REQUIRE(!kv_json_valid(s, size - 1));
    }
    return 0;
}
