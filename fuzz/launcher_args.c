/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Fuzzes the launcher's option parsers (--publish, --mem, --cid, --preopen, names,
 * --restart, --gdb) and its quoting. Besides the sanitizers, it checks contracts: an accepted value
 * is within its bounds and survives a format-and-parse round trip, a default
 * name is a valid name, and shell quoting undoes to the input.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/vm_args.h"

static void check(int ok)
{
    if (!ok)
        abort();
}

/* Undoes shell_quote's single quoting (the only form it produces). */
static void unquote(const char *q, char *out)
{
    size_t n = 0;
    if (q[0] != '\'') {
        strcpy(out, q);
        return;
    }
    for (const char *p = q + 1; *p;) {
        if (strncmp(p, "'\\''", 4) == 0) {
            out[n++] = '\'';
            p += 4;
        } else if (*p == '\'') {
            check(p[1] == '\0'); /* the closing quote is the last byte */
            p++;
        } else {
            out[n++] = *p++;
        }
    }
    out[n] = '\0';
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *s, buf[64], *quoted, *back, name[80];
    struct publish_spec p, p2;
    uint32_t v, v2;
    size_t qlen;

    s = malloc(size + 1);
    memcpy(s, data, size);
    s[size] = '\0';

    if (publish_parse(s, &p) == 0) {
        check(p.host_port != 0 && p.guest_port != 0 && p.guest_port != 0xffffffffu);
        check(memchr(p.addr, '\0', sizeof(p.addr)) != NULL);
        snprintf(buf, sizeof(buf), "%s:%u:%u", p.addr, p.host_port, p.guest_port);
        check(publish_parse(buf, &p2) == 0);
        check(strcmp(p.addr, p2.addr) == 0 && p.host_port == p2.host_port &&
              p.guest_port == p2.guest_port);
    }
    if (parse_mem_mib(s, &v) == 0) {
        check(v >= LAUNCHER_MEM_MIN_MIB && v <= LAUNCHER_MEM_MAX_MIB);
        snprintf(buf, sizeof(buf), "%uM", v);
        check(parse_mem_mib(buf, &v2) == 0 && v2 == v);
    }
    if (parse_cid(s, &v) == 0)
        check(v >= LAUNCHER_CID_MIN && v <= LAUNCHER_CID_MAX);
    if (parse_cpus(s, &v) == 0)
        check(v >= 1 && v <= LAUNCHER_CPUS_MAX);
    if (parse_preopen(s, &v) == 0) {
        check(v <= LAUNCHER_PREOPEN_MAX);
        snprintf(buf, sizeof(buf), "%u", v);
        check(parse_preopen(buf, &v2) == 0 && v2 == v);
    }
    if (name_is_valid(s))
        check(strlen(s) >= 1 && strlen(s) <= LAUNCHER_NAME_MAX && strchr(s, '/') == NULL &&
              strchr(s, ',') == NULL);
    struct restart_policy r;
    if (parse_restart(s, &r) == 0)
        check(r.mode <= RESTART_ALWAYS && r.max <= LAUNCHER_RESTART_MAX &&
              (r.mode == RESTART_ON_FAILURE || r.max == 0));
    struct gdb_spec g, g2;
    if (parse_gdb(s, &g) == 0) {
        check(g.port != 0 && strncmp(g.addr, "127.", 4) == 0);
        snprintf(buf, sizeof(buf), "%s:%u", g.addr, g.port);
        check(parse_gdb(buf, &g2) == 0 && g2.port == g.port && strcmp(g.addr, g2.addr) == 0);
    }
    if (default_name(s, 3 + (size % 1000), name, sizeof(name)) == 0)
        check(name_is_valid(name));

    /* Quoting: worst case 4 bytes per input byte plus the quotes. */
    qlen = size * 4 + 3;
    quoted = malloc(qlen);
    back = malloc(qlen);
    int n = shell_quote(s, quoted, qlen);
    check(n >= 0 && (size_t)n == strlen(quoted));
    if (strlen(s) == size) { /* no NUL inside: the whole input was quoted */
        unquote(quoted, back);
        check(strcmp(back, s) == 0);
    }
    check(shell_quote(s, quoted, (size_t)n) < 0); /* one byte short never fits */
    n = qemu_escape(s, quoted, qlen);
    check(n >= 0 && (size_t)n >= strlen(s));
    free(quoted);
    free(back);
    free(s);
    return 0;
}
