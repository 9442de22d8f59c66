/* SPDX-License-Identifier: BSD-2-Clause */
/* A container's microVM settings from its config.json; see vmconfig.h. */
#include "oci/vmconfig.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"

static int fail(char *err, size_t len, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int fail(char *err, size_t len, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, len, fmt, ap);
    va_end(ap);
    log_one_line(err); /* a cause is one line, whatever config.json holds */
    return -1;
}

/* Appends one note ("; "-separated); a note that does not fit ends in "...". */
static void note(struct oci_vm *vm, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void note(struct oci_vm *vm, const char *fmt, ...)
{
    size_t n = strlen(vm->notes), cap = sizeof(vm->notes);
    va_list ap;
    if (n + 8 >= cap)
        return;
    if (n)
        n += (size_t)snprintf(vm->notes + n, cap - n, "; ");
    va_start(ap, fmt);
    int w = vsnprintf(vm->notes + n, cap - n, fmt, ap);
    va_end(ap);
    if (w < 0 || (size_t)w >= cap - n)
        memcpy(vm->notes + cap - 4, "...", 4);
}

int oci_parse_ports(const char *text, struct oci_vm *vm, char *err, size_t errlen)
{
    char buf[1024], *save = NULL;
    vm->npublish = 0;
    if (strlen(text) >= sizeof(buf))
        return fail(err, errlen, OCI_PORTS_ANNOTATION ": too long");
    snprintf(buf, sizeof(buf), "%s", text);
    if (strcmp(buf, "none") == 0)
        return 0;
    for (char *t = strtok_r(buf, ", \t\n", &save); t; t = strtok_r(NULL, ", \t\n", &save)) {
        char spec[64];
        unsigned colons = 0;
        struct publish_spec *p = &vm->publish[vm->npublish];
        for (const char *c = t; *c; c++)
            colons += *c == ':';
        if (strlen(t) > 40)
            return fail(err, errlen, OCI_PORTS_ANNOTATION ": bad entry '%.40s...'", t);
        if (colons == 0)
            snprintf(spec, sizeof(spec), "0.0.0.0:%s:%s", t, t);
        else if (colons == 1)
            snprintf(spec, sizeof(spec), "0.0.0.0:%s", t);
        else
            snprintf(spec, sizeof(spec), "%s", t);
        if (vm->npublish == LAUNCHER_PUBLISH_MAX)
            return fail(err, errlen, OCI_PORTS_ANNOTATION ": more than %u ports",
                        LAUNCHER_PUBLISH_MAX);
        if (publish_parse(spec, p) < 0)
            return fail(err, errlen,
                        OCI_PORTS_ANNOTATION ": bad entry '%s': want GUESTPORT, PORT:GUESTPORT or "
                                             "ADDR:PORT:GUESTPORT (IPv4 ADDR, ports 1..65535)",
                        t);
        for (unsigned i = 0; i < vm->npublish; i++)
            if (vm->publish[i].host_port == p->host_port)
                return fail(err, errlen, OCI_PORTS_ANNOTATION ": port %u is published twice",
                            p->host_port);
        vm->npublish++;
    }
    return 0;
}

int oci_cpuset_count(const char *list)
{
    int count = 0;
    const char *p = list;
    if (!p || !*p)
        return -1;
    for (;;) {
        char *end;
        unsigned long a = strtoul(p, &end, 10), b;
        if (end == p || *p == '-' || *p == '+' || a > 65535)
            return -1;
        b = a;
        p = end;
        if (*p == '-') {
            const char *q = p + 1;
            b = strtoul(q, &end, 10);
            if (end == q || *q == '-' || *q == '+' || b > 65535 || b < a)
                return -1;
            p = end;
        }
        count += (int)(b - a + 1);
        if (*p == '\0')
            return count;
        if (*p != ',')
            return -1;
        p++;
    }
}

static bool under(const char *path, const char *dir)
{
    size_t n = strlen(dir);
    return strncmp(path, dir, n) == 0 && (path[n] == '\0' || path[n] == '/');
}

static bool engine_file(const char *dest)
{
    static const char *const files[] = {"/etc/hosts", "/etc/hostname", "/etc/resolv.conf",
                                        "/run/.containerenv"};
    for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++)
        if (strcmp(dest, files[i]) == 0)
            return true;
    return false;
}

static int pick_shares(const struct oci_spec *s, bool (*is_dir)(const char *), struct oci_vm *vm,
                       char *err, size_t errlen)
{
    for (unsigned i = 0; i < s->nmounts; i++) {
        const struct oci_mount *m = &s->mounts[i];
        if (!m->bind || under(m->destination, "/dev") || under(m->destination, "/proc") ||
            under(m->destination, "/sys"))
            continue; /* the engines' Linux mounts: nothing for an appliance */
        if (!m->source || m->source[0] != '/')
            return fail(err, errlen, "mount %.200s: want an absolute source", m->destination);
        if (!is_dir(m->source)) {
            if (!engine_file(m->destination))
                note(vm, "mount %.200s: not a directory, so not shared (a virtio-fs share is one)",
                     m->destination);
            continue;
        }
        if (strcmp(m->destination, "/") == 0)
            return fail(err, errlen, "mount /: the rootfs is the guest's \"/\"");
        if (strchr(m->destination, '"') || strpbrk(m->destination, "\r\n"))
            return fail(err, errlen, "mount %.200s: a guest path cannot hold '\"' or a newline",
                        m->destination);
        if (vm->nshares == PLAN_EXTRA_SHARES_MAX)
            return fail(err, errlen, "more than %d directory mounts (the guest mounts at most %d)",
                        PLAN_EXTRA_SHARES_MAX, PLAN_EXTRA_SHARES_MAX);
        if (m->readonly)
            note(vm, "mount %.200s: read-only is not enforced (virtiofsd has no read-only mode)",
                 m->destination);
        vm->shares[vm->nshares++] = (struct oci_share){
            .source = m->source, .destination = m->destination, .readonly = m->readonly};
    }
    return 0;
}

static int pick_memory(const struct oci_spec *s, uint32_t need_mib, struct oci_vm *vm, char *err,
                       size_t errlen)
{
    if (s->mem_limit < 0) {
        vm->mem_mib = OCI_DEFAULT_MEM_MIB > need_mib ? OCI_DEFAULT_MEM_MIB : need_mib;
        return 0;
    }
    uint64_t limit_mib = (uint64_t)s->mem_limit >> 20;
    uint64_t guest = limit_mib > OCI_HOST_OVERHEAD_MIB ? limit_mib - OCI_HOST_OVERHEAD_MIB : 0;
    if (guest > LAUNCHER_MEM_MAX_MIB)
        guest = LAUNCHER_MEM_MAX_MIB;
    if (guest < need_mib || guest < LAUNCHER_MEM_MIN_MIB)
        return fail(err, errlen,
                    "memory limit %llu MiB is below what the image needs: %u MiB for the guest + "
                    "%u MiB for QEMU and its daemons",
                    (unsigned long long)limit_mib,
                    need_mib > LAUNCHER_MEM_MIN_MIB ? need_mib : LAUNCHER_MEM_MIN_MIB,
                    OCI_HOST_OVERHEAD_MIB);
    vm->mem_mib = (uint32_t)guest;
    return 0;
}

static int pick_cpus(const struct oci_spec *s, struct oci_vm *vm, char *err, size_t errlen)
{
    uint64_t cpus = 0;
    if (s->cpu_quota > 0) {
        uint64_t period = s->cpu_period ? s->cpu_period : 100000;
        cpus = ((uint64_t)s->cpu_quota + period - 1) / period;
    }
    if (s->cpuset_cpus) {
        int n = oci_cpuset_count(s->cpuset_cpus);
        if (n < 0)
            return fail(err, errlen, "linux.resources.cpu.cpus: bad list '%.64s'", s->cpuset_cpus);
        if (cpus == 0 || (uint64_t)n < cpus)
            cpus = (uint64_t)n;
    }
    if (cpus == 0)
        cpus = 1;
    vm->cpus = cpus > LAUNCHER_CPUS_MAX ? LAUNCHER_CPUS_MAX : (uint32_t)cpus;
    return 0;
}

/* The appliance's arguments as kernel command line words. */
static int build_append(const struct oci_spec *s, struct oci_vm *vm, char *err, size_t errlen)
{
    size_t n = 0;
    vm->append[0] = '\0';
    for (unsigned i = 1; i < s->argc; i++) {
        const char *a = s->argv[i];
        bool blank = a[0] == '\0' || strpbrk(a, " \t") != NULL;
        for (const char *c = a; *c; c++)
            if (*c == '"' || (unsigned char)*c < 0x20 || *c == 0x7f)
                return fail(err, errlen,
                            "process.args[%u]: a '\"' or control character cannot reach the "
                            "appliance's command line",
                            i);
        if (strcmp(a, "fs") == 0 || strncmp(a, "fs=", 3) == 0 || strncmp(a, "fs.", 3) == 0)
            return fail(err, errlen, "process.args[%u] '%.64s': fs words belong to the runtime", i,
                        a);
        int w = snprintf(vm->append + n, sizeof(vm->append) - n, blank ? "%s\"%s\"" : "%s%s",
                         n ? " " : "", a);
        if (w < 0 || (size_t)w >= sizeof(vm->append) - n)
            return fail(err, errlen, "process.args: longer than %d bytes together", OCI_APPEND_MAX);
        n += (size_t)w;
    }
    return 0;
}

int oci_vm_from_spec(const struct oci_spec *s, uint32_t need_mib, bool (*is_dir)(const char *path),
                     struct oci_vm *vm, char *err, size_t errlen)
{
    const char *ports = oci_spec_annotation(s, OCI_PORTS_ANNOTATION);
    memset(vm, 0, sizeof(*vm));
    if (s->argc == 0 || s->argv[0][0] != '/')
        return fail(err, errlen,
                    "process.args[0] '%.64s': want the absolute path of the appliance's ELF "
                    "in the image (its entrypoint)",
                    s->argc ? s->argv[0] : "");
    if (pick_memory(s, need_mib, vm, err, errlen) < 0 || pick_cpus(s, vm, err, errlen) < 0 ||
        oci_parse_ports(ports ? ports : "80", vm, err, errlen) < 0 ||
        pick_shares(s, is_dir, vm, err, errlen) < 0 || build_append(s, vm, err, errlen) < 0)
        return -1;
    return 0;
}
