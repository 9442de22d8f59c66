/* SPDX-License-Identifier: BSD-2-Clause */
/* Option values and formatting for an instance (miura, miura-oci); see vm_args.h. */
#include "common/vm_args.h"

#include <arpa/inet.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>

#include "common/number.h"

int parse_mem_mib(const char *s, uint32_t *mib)
{
    /* Bound the number so that value * 1024 * 1024 cannot overflow. */
    uint64_t v, kib;
    int n = parse_digits(s, (uint64_t)LAUNCHER_MEM_MAX_MIB * 1024 * 1024, &v);
    if (n < 0)
        return -1;
    const char *u = s + n;
    switch (*u) {
    case '\0':
        kib = v * 1024;
        break;
    case 'k':
    case 'K':
        kib = v;
        u++;
        break;
    case 'm':
    case 'M':
        kib = v * 1024;
        u++;
        break;
    case 'g':
    case 'G':
        if (v > LAUNCHER_MEM_MAX_MIB / 1024)
            return -1;
        kib = v * 1024 * 1024;
        u++;
        break;
    default:
        return -1;
    }
    if (u != s + n && (strcmp(u, "iB") == 0 || strcmp(u, "B") == 0))
        u += strlen(u);
    if (*u != '\0' || kib % 1024 != 0)
        return -1;
    if (kib / 1024 < LAUNCHER_MEM_MIN_MIB || kib / 1024 > LAUNCHER_MEM_MAX_MIB)
        return -1;
    *mib = (uint32_t)(kib / 1024);
    return 0;
}

int parse_restart(const char *s, struct restart_policy *r)
{
    uint64_t v;
    r->max = 0;
    if (strcmp(s, "no") == 0) {
        r->mode = RESTART_NO;
        return 0;
    }
    if (strcmp(s, "always") == 0) {
        r->mode = RESTART_ALWAYS;
        return 0;
    }
    if (strncmp(s, "on-failure", 10) != 0)
        return -1;
    r->mode = RESTART_ON_FAILURE;
    if (s[10] == '\0')
        return 0;
    if (s[10] != ':' || parse_decimal(s + 11, 1, LAUNCHER_RESTART_MAX, &v))
        return -1;
    r->max = (uint32_t)v;
    return 0;
}

bool restart_wanted(const struct restart_policy *r, bool failed, uint32_t done)
{
    if (r->mode == RESTART_NO || (r->mode == RESTART_ON_FAILURE && !failed))
        return false;
    return r->max == 0 || done < r->max;
}

uint32_t restart_backoff_ms(uint32_t row)
{
    uint32_t ms = LAUNCHER_BACKOFF_FIRST_MS;
    for (uint32_t i = 0; i < row && ms < LAUNCHER_BACKOFF_MAX_MS; i++)
        ms *= 2;
    return ms < LAUNCHER_BACKOFF_MAX_MS ? ms : LAUNCHER_BACKOFF_MAX_MS;
}

int parse_gdb(const char *s, struct gdb_spec *g)
{
    const char *colon = strchr(s, ':'), *port = s;
    struct in_addr a;
    uint64_t v;
    memset(g, 0, sizeof(*g));
    strcpy(g->addr, "127.0.0.1");
    if (colon) {
        size_t alen = (size_t)(colon - s);
        if (alen == 0 || alen >= sizeof(g->addr))
            return -1;
        memcpy(g->addr, s, alen);
        g->addr[alen] = '\0';
        /* The gdbstub has no authentication: loopback only. */
        if (inet_pton(AF_INET, g->addr, &a) != 1 || (ntohl(a.s_addr) >> 24) != 127)
            return -1;
        port = colon + 1;
    }
    if (parse_decimal(port, 1, 65535, &v))
        return -1;
    g->port = (uint16_t)v;
    return 0;
}

int parse_cid(const char *s, uint32_t *cid)
{
    uint64_t v;
    if (parse_decimal(s, LAUNCHER_CID_MIN, LAUNCHER_CID_MAX, &v))
        return -1;
    *cid = (uint32_t)v;
    return 0;
}

int parse_uint(const char *s, uint32_t min, uint32_t max, uint32_t *out)
{
    uint64_t v;
    if (parse_decimal(s, min, max, &v))
        return -1;
    *out = (uint32_t)v;
    return 0;
}

int parse_preopen(const char *s, uint32_t *n)
{
    return parse_uint(s, 0, LAUNCHER_PREOPEN_MAX, n);
}

int parse_cpus(const char *s, uint32_t *cpus)
{
    uint64_t v;
    if (parse_decimal(s, 1, LAUNCHER_CPUS_MAX, &v))
        return -1;
    *cpus = (uint32_t)v;
    return 0;
}

static bool name_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
           c == '.' || c == '-';
}

bool name_is_valid(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > LAUNCHER_NAME_MAX || !name_char(s[0]) || s[0] == '_' || s[0] == '.' ||
        s[0] == '-')
        return false;
    for (size_t i = 0; i < n; i++)
        if (!name_char(s[i]))
            return false;
    /* The runtime base keeps CID locks (cid-N.lock) next to run directories. */
    return !(n >= 5 && strcmp(s + n - 5, ".lock") == 0);
}

int default_name(const char *image, uint32_t cid, char *out, size_t len)
{
    const char *base = strrchr(image, '/');
    char suffix[16];
    size_t n, slen;
    base = base ? base + 1 : image;
    n = strlen(base);
    if (n > 4 && strcmp(base + n - 4, ".elf") == 0)
        n -= 4;
    slen = (size_t)snprintf(suffix, sizeof(suffix), "-%u", cid);
    /* Keep the whole name within LAUNCHER_NAME_MAX by shortening the image part. */
    if (n + slen > LAUNCHER_NAME_MAX)
        n = LAUNCHER_NAME_MAX - slen;
    if (n + slen + 1 > len)
        return -1;
    if (n == 0) {
        memcpy(out, "miura", 5);
        n = 5;
    } else {
        for (size_t i = 0; i < n; i++)
            out[i] = name_char(base[i]) ? base[i] : '_';
        /* A name starts with a letter or digit. */
        if (!name_char(out[0]) || out[0] == '_' || out[0] == '.' || out[0] == '-')
            out[0] = 'x';
    }
    memcpy(out + n, suffix, slen + 1);
    return 0;
}

int parse_accel(const char *s, enum accel *a)
{
    if (strcmp(s, "auto") == 0)
        *a = ACCEL_AUTO;
    else if (strcmp(s, "kvm") == 0)
        *a = ACCEL_KVM;
    else if (strcmp(s, "tcg") == 0)
        *a = ACCEL_TCG;
    else
        return -1;
    return 0;
}

static const char *const machine_names[] = {"microvm", "q35", "pc"};

int parse_machine(const char *s, enum machine *m)
{
    for (unsigned i = 0; i < sizeof(machine_names) / sizeof(machine_names[0]); i++) {
        if (strcmp(s, machine_names[i]) == 0) {
            *m = (enum machine)i;
            return 0;
        }
    }
    return -1;
}

const char *machine_name(enum machine m)
{
    return (unsigned)m < sizeof(machine_names) / sizeof(machine_names[0]) ? machine_names[m] : "?";
}

enum accel accel_auto(bool kvm_usable, bool hw_virt_flag, bool pvm_loaded, const char **why)
{
    if (!kvm_usable) {
        *why = "/dev/kvm is missing or not usable";
        return ACCEL_TCG;
    }
    if (!hw_virt_flag) {
        *why = "/dev/kvm is not hardware virtualisation (no vmx/svm in /proc/cpuinfo)";
        return ACCEL_TCG;
    }
    if (pvm_loaded) {
        *why = "/dev/kvm is the kvm_pvm software hypervisor";
        return ACCEL_TCG;
    }
    *why = "/dev/kvm is hardware virtualisation";
    return ACCEL_KVM;
}

enum qemu_end decode_qemu_exit(int wstatus, bool error_logged, int logged_signal, int *code)
{
    if (WIFSIGNALED(wstatus)) {
        *code = 128 + WTERMSIG(wstatus);
        return QEMU_END_SIGNAL;
    }
    int rc = WEXITSTATUS(wstatus);
    if (rc == 0 && logged_signal > 0 && logged_signal < 128) {
        /* QEMU catches SIGTERM/SIGINT/SIGHUP and exits 0, saying so. */
        *code = 128 + logged_signal;
        return QEMU_END_SIGNAL;
    }
    if (rc == 0) {
        *code = 0;
        return QEMU_END_RESET;
    }
    /*
     * isa-debug-exit makes QEMU exit with (status << 1) | 1, so every odd
     * code is a guest status; QEMU's own failures exit 1 with an error line.
     */
    if ((rc & 1) && !(rc == 1 && error_logged)) {
        *code = rc >> 1;
        return QEMU_END_GUEST;
    }
    *code = rc;
    return QEMU_END_ERROR;
}

static bool shell_safe(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           strchr("_./=:,@%+-", c) != NULL;
}

int shell_quote(const char *s, char *out, size_t len)
{
    size_t n = 0;
    bool plain = *s != '\0';
    for (const char *p = s; *p; p++)
        plain = plain && shell_safe(*p);
    if (plain) {
        size_t l = strlen(s);
        if (l + 1 > len)
            return -1;
        memcpy(out, s, l + 1);
        return (int)l;
    }
#define PUT(c)            \
    do {                  \
        if (n + 1 >= len) \
            return -1;    \
        out[n++] = (c);   \
    } while (0)
    PUT('\'');
    for (const char *p = s; *p; p++) {
        if (*p == '\'') {
            PUT('\'');
            PUT('\\');
            PUT('\'');
            PUT('\'');
        } else {
            PUT(*p);
        }
    }
    PUT('\'');
#undef PUT
    out[n] = '\0';
    return (int)n;
}

int qemu_escape(const char *s, char *out, size_t len)
{
    size_t n = 0;
    for (const char *p = s; *p; p++) {
        size_t need = *p == ',' ? 2 : 1;
        if (n + need + 1 > len)
            return -1;
        out[n++] = *p;
        if (*p == ',')
            out[n++] = ',';
    }
    if (n + 1 > len)
        return -1;
    out[n] = '\0';
    return (int)n;
}
