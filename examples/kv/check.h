/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The key-value store's input checks, pure (host unit tests and the fuzzer
 * run them as they are).
 */
#ifndef MIURA_KV_CHECK_H
#define MIURA_KV_CHECK_H

#include <stdbool.h>
#include <stddef.h>

#define KV_KEY_MAX    200 /* bytes of a key */
#define KV_JSON_DEPTH 32  /* nesting of arrays and objects */

/*
 * A key: 1..KV_KEY_MAX bytes of A-Z a-z 0-9 '.' '_' '-', not starting with
 * '.' (so never "." or "..", and never the store's own ".tmp" files). A key
 * is a file name in the store's directory as it is.
 */
bool kv_key_valid(const char *key, size_t len);

/*
 * Is s[0, len) one JSON text (RFC 8259): a value with optional whitespace
 * around it; strings with valid escapes and UTF-8 (no control bytes, no
 * surrogates, no overlong forms); numbers in JSON's grammar; nesting at most
 * KV_JSON_DEPTH deep. Never reads outside s[0, len); no recursion.
 */
bool kv_json_valid(const char *s, size_t len);

#endif
