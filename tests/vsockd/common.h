/* SPDX-License-Identifier: BSD-2-Clause */
/* Test-data helpers shared by the vsockd driver: a seekable pattern and a hash. */
#ifndef VSOCKD_TEST_COMMON_H
#define VSOCKD_TEST_COMMON_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

static inline uint64_t mix64(uint64_t x)
{
    x += 0x9e3779b97f4a7c15ull;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
    return x ^ (x >> 31);
}

/* Byte `off` onward of the pattern stream `seed`, len bytes. */
static inline void pattern_fill(uint8_t *buf, uint64_t seed, uint64_t off, size_t len)
{
    while (len > 0) {
        uint64_t w = mix64(seed ^ (off / 8));
        unsigned skip = off % 8;
        size_t n = 8 - skip < len ? 8 - skip : len;
        memcpy(buf, (uint8_t *)&w + skip, n);
        buf += n;
        off += n;
        len -= n;
    }
}

/* A streaming hash whose value does not depend on how the data is split. */
struct stream_hash {
    uint64_t h;
    uint64_t count;
    uint64_t carry;
    unsigned ncarry;
};

static inline void hash_init(struct stream_hash *s)
{
    memset(s, 0, sizeof(*s));
    s->h = 0xcbf29ce484222325ull;
}

static inline void hash_word(struct stream_hash *s, uint64_t w)
{
    s->h = (s->h ^ w) * 0x100000001b3ull;
    s->h ^= s->h >> 29;
}

static inline void hash_update(struct stream_hash *s, const uint8_t *p, size_t len)
{
    s->count += len;
    while (len > 0 && s->ncarry > 0) {
        s->carry |= (uint64_t)*p++ << (8 * s->ncarry);
        len--;
        if (++s->ncarry == 8) {
            hash_word(s, s->carry);
            s->carry = 0;
            s->ncarry = 0;
        }
    }
    while (len >= 8) {
        uint64_t w;
        memcpy(&w, p, 8);
        hash_word(s, w);
        p += 8;
        len -= 8;
    }
    while (len > 0) {
        s->carry |= (uint64_t)*p++ << (8 * s->ncarry);
        s->ncarry++;
        len--;
    }
}

static inline uint64_t hash_final(const struct stream_hash *s)
{
    struct stream_hash t = *s;
    if (t.ncarry)
        hash_word(&t, t.carry ^ ((uint64_t)t.ncarry << 56));
    hash_word(&t, t.count);
    return t.h;
}

static inline uint64_t pattern_hash(uint64_t seed, uint64_t len)
{
    static _Thread_local uint8_t buf[65536];
    struct stream_hash s;
    hash_init(&s);
    for (uint64_t off = 0; off < len; off += sizeof(buf)) {
        size_t n = len - off < sizeof(buf) ? (size_t)(len - off) : sizeof(buf);
        pattern_fill(buf, seed, off, n);
        hash_update(&s, buf, n);
    }
    return hash_final(&s);
}

#endif
