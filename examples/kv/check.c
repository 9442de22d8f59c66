/* SPDX-License-Identifier: BSD-2-Clause */
/* The key-value store's input checks (check.h). */
#include "check.h"

#include <stdint.h>

bool kv_key_valid(const char *key, size_t len)
{
    if (len == 0 || len > KV_KEY_MAX || key[0] == '.')
        return false;
    for (size_t i = 0; i < len; i++) {
        char c = key[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '.' || c == '_' || c == '-'))
            return false;
    }
    return true;
}

struct json {
    const unsigned char *p, *end;
};

static void skip_ws(struct json *j)
{
    while (j->p < j->end && (*j->p == ' ' || *j->p == '\t' || *j->p == '\n' || *j->p == '\r'))
        j->p++;
}

static bool literal(struct json *j, const char *word)
{
    for (; *word; word++, j->p++)
        if (j->p == j->end || *j->p != (unsigned char)*word)
            return false;
    return true;
}

static int hex4(struct json *j)
{
    int v = 0;
    for (int i = 0; i < 4; i++, j->p++) {
        if (j->p == j->end)
            return -1;
        unsigned char c = *j->p;
        int d = c >= '0' && c <= '9'   ? c - '0'
                : c >= 'a' && c <= 'f' ? c - 'a' + 10
                : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                       : -1;
        if (d < 0)
            return -1;
        v = v * 16 + d;
    }
    return v;
}

/* One UTF-8 sequence starting at j->p (a byte >= 0x80): RFC 3629. */
static bool utf8(struct json *j)
{
    unsigned char c = *j->p++;
    int n;
    uint32_t cp, min;
    if (c >= 0xc2 && c <= 0xdf)
        n = 1, cp = c & 0x1f, min = 0x80;
    else if (c >= 0xe0 && c <= 0xef)
        n = 2, cp = c & 0x0f, min = 0x800;
    else if (c >= 0xf0 && c <= 0xf4)
        n = 3, cp = c & 0x07, min = 0x10000;
    else
        return false;
    for (int i = 0; i < n; i++, j->p++) {
        if (j->p == j->end || (*j->p & 0xc0) != 0x80)
            return false;
        cp = cp << 6 | (*j->p & 0x3f);
    }
    return cp >= min && cp <= 0x10ffff && !(cp >= 0xd800 && cp <= 0xdfff);
}

/* A string; j->p is at its opening quote. */
static bool string(struct json *j)
{
    j->p++;
    while (j->p < j->end) {
        unsigned char c = *j->p;
        if (c == '"') {
            j->p++;
            return true;
        }
        if (c < 0x20)
            return false;
        if (c >= 0x80) {
            if (!utf8(j))
                return false;
            continue;
        }
        j->p++;
        if (c != '\\')
            continue;
        if (j->p == j->end)
            return false;
        c = *j->p++;
        if (c == 'u') {
            int u = hex4(j);
            if (u < 0)
                return false;
            if (u >= 0xdc00 && u <= 0xdfff)
                return false;                 /* a low surrogate alone */
            if (u >= 0xd800 && u <= 0xdbff) { /* must be followed by a low one */
                if (!literal(j, "\\u"))
                    return false;
                int lo = hex4(j);
                if (lo < 0xdc00 || lo > 0xdfff)
                    return false;
            }
        } else if (c != '"' && c != '\\' && c != '/' && c != 'b' && c != 'f' && c != 'n' &&
                   c != 'r' && c != 't') {
            return false;
        }
    }
    return false;
}

static bool digits(struct json *j)
{
    const unsigned char *start = j->p;
    while (j->p < j->end && *j->p >= '0' && *j->p <= '9')
        j->p++;
    return j->p > start;
}

/* number = [ "-" ] int [ frac ] [ exp ] */
static bool number(struct json *j)
{
    if (*j->p == '-')
        j->p++;
    if (j->p < j->end && *j->p == '0')
        j->p++;
    else if (!digits(j))
        return false;
    if (j->p < j->end && *j->p == '.') {
        j->p++;
        if (!digits(j))
            return false;
    }
    if (j->p < j->end && (*j->p == 'e' || *j->p == 'E')) {
        j->p++;
        if (j->p < j->end && (*j->p == '+' || *j->p == '-'))
            j->p++;
        if (!digits(j))
            return false;
    }
    return true;
}

/*
 * Iterative: a stack of open containers ('[' or '{'), and after each value
 * the container decides what may follow (',' or its closing bracket).
 */
bool kv_json_valid(const char *s, size_t len)
{
    struct json j = {(const unsigned char *)s, (const unsigned char *)s + len};
    char stack[KV_JSON_DEPTH];
    int depth = 0;

    for (;;) {
        /* a value is expected here */
        skip_ws(&j);
        if (j.p == j.end)
            return false;
        unsigned char c = *j.p;
        bool ok;
        if (c == '[' || c == '{') {
            if (depth == KV_JSON_DEPTH)
                return false;
            stack[depth++] = (char)c;
            j.p++;
            skip_ws(&j);
            if (j.p < j.end && *j.p == (c == '[' ? ']' : '}')) {
                j.p++;
                depth--;
                goto after_value;
            }
            if (c == '{')
                goto member;
            continue;
        }
        if (c == '"')
            ok = string(&j);
        else if (c == 't')
            ok = literal(&j, "true");
        else if (c == 'f')
            ok = literal(&j, "false");
        else if (c == 'n')
            ok = literal(&j, "null");
        else if (c == '-' || (c >= '0' && c <= '9'))
            ok = number(&j);
        else
            ok = false;
        if (!ok)
            return false;
    after_value:
        skip_ws(&j);
        if (depth == 0)
            return j.p == j.end;
        if (j.p == j.end)
            return false;
        c = *j.p++;
        if (c == (stack[depth - 1] == '[' ? ']' : '}')) {
            depth--;
            goto after_value;
        }
        if (c != ',')
            return false;
        if (stack[depth - 1] == '[')
            continue;
    member: /* "name" ws ':' then the value */
        skip_ws(&j);
        if (j.p == j.end || *j.p != '"' || !string(&j))
            return false;
        skip_ws(&j);
        if (j.p == j.end || *j.p != ':')
            return false;
        j.p++;
    }
}
