/* SPDX-License-Identifier: BSD-2-Clause */
#include "arch/x86_64/mptable.h"

#define MP_HEADER_LEN  44
#define MP_PROCESSOR   0
#define MP_PROC_LEN    20
#define MP_OTHER_LEN   8
#define MP_CPU_ENABLED 1

static unsigned sum8(const uint8_t *p, size_t n)
{
    unsigned s = 0;
    while (n--)
        s += *p++;
    return s & 0xff;
}

uint32_t mptable_find(const uint8_t *mem, size_t len)
{
    for (size_t off = 0; off + MPTABLE_FLOAT_LEN <= len; off += 16) {
        const uint8_t *f = mem + off;
        /* length is in 16-byte units and must be 1 for revision 1.1/1.4 */
        if (f[0] != '_' || f[1] != 'M' || f[2] != 'P' || f[3] != '_' || f[8] != 1 ||
            sum8(f, MPTABLE_FLOAT_LEN))
            continue;
        if (f[11]) /* feature byte 1: a default configuration, no table */
            return 0;
        return (uint32_t)f[4] | (uint32_t)f[5] << 8 | (uint32_t)f[6] << 16 | (uint32_t)f[7] << 24;
    }
    return 0;
}

unsigned mptable_cpus(const uint8_t *t, size_t len, uint8_t *ids, unsigned max)
{
    if (len < MP_HEADER_LEN || t[0] != 'P' || t[1] != 'C' || t[2] != 'M' || t[3] != 'P')
        return 0;
    size_t base_len = (size_t)t[4] | (size_t)t[5] << 8;
    unsigned entries = (unsigned)t[34] | (unsigned)t[35] << 8;
    if (base_len < MP_HEADER_LEN || base_len > len || sum8(t, base_len))
        return 0;
    unsigned n = 0;
    size_t off = MP_HEADER_LEN;
    for (unsigned i = 0; i < entries && off < base_len; i++) {
        const uint8_t *e = t + off;
        size_t elen = e[0] == MP_PROCESSOR ? MP_PROC_LEN : MP_OTHER_LEN;
        if (e[0] > 4 || off + elen > base_len)
            return 0; /* an unknown entry type has no known length: stop trusting */
        off += elen;
        if (e[0] == MP_PROCESSOR && (e[3] & MP_CPU_ENABLED) && n < max)
            ids[n++] = e[1];
    }
    return n;
}
