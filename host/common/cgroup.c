/* SPDX-License-Identifier: BSD-2-Clause */
/* An instance's cgroups; see cgroup.h. */
#include "common/cgroup.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/vm_parts.h"

#define HIER_MAX 24

struct hierarchy {
    char mnt[PATH_MAX];
    char ctrls[256];    /* v1: "cpu", "cpu,cpuacct", "name=systemd"; v2: "" */
    char own[PATH_MAX]; /* our own cgroup in it, from /proc/self/cgroup */
    bool v2;
};

struct enter {
    const struct cgroup_limits *s;
    char *cannot;
    size_t len;
    bool mem_done, cpu_done, shares_done, cpuset_done, pids_done;
};

static void cannot(struct enter *e, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void cannot(struct enter *e, const char *fmt, ...)
{
    size_t n = strlen(e->cannot);
    va_list ap;
    if (n + 8 >= e->len)
        return;
    if (n)
        n += (size_t)snprintf(e->cannot + n, e->len - n, "; ");
    va_start(ap, fmt);
    vsnprintf(e->cannot + n, e->len - n, fmt, ap);
    va_end(ap);
}

/* mountinfo escapes blanks and backslashes as \ooo. */
static void unescape(char *s)
{
    char *w = s;
    for (char *r = s; *r;) {
        if (r[0] == '\\' && r[1] >= '0' && r[1] <= '3' && r[2] >= '0' && r[2] <= '7' &&
            r[3] >= '0' && r[3] <= '7') {
            *w++ = (char)((r[1] - '0') * 64 + (r[2] - '0') * 8 + (r[3] - '0'));
            r += 4;
        } else {
            *w++ = *r++;
        }
    }
    *w = '\0';
}

static bool list_has(const char *list, const char *word)
{
    size_t n = strlen(word);
    for (const char *p = list; *p;) {
        size_t k = strcspn(p, ",");
        if (k == n && strncmp(p, word, n) == 0)
            return true;
        p += k + (p[k] == ',');
    }
    return false;
}

/* Our cgroup in the hierarchy with these controllers (v2: ""), from /proc/self/cgroup. */
static void own_cgroup(const char *ctrls, bool v2, char *out, size_t len)
{
    char line[PATH_MAX + 256], first[64];
    FILE *f = fopen("/proc/self/cgroup", "re");
    snprintf(out, len, "/");
    snprintf(first, sizeof(first), "%.*s", (int)strcspn(ctrls, ","), ctrls);
    while (f && fgets(line, sizeof(line), f)) {
        char *a = strchr(line, ':'), *b = a ? strchr(a + 1, ':') : NULL;
        if (!b)
            continue;
        *b = '\0';
        line[strcspn(b + 1, "\n") + (size_t)(b + 1 - line)] = '\0';
        if ((v2 && a[1] == '\0') || (!v2 && a[1] && list_has(a + 1, first))) {
            snprintf(out, len, "%s", b + 1);
            break;
        }
    }
    if (f)
        fclose(f);
}

static int list_hierarchies(struct hierarchy *h, int max)
{
    char line[8192], seen[HIER_MAX][32];
    FILE *f = fopen("/proc/self/mountinfo", "re");
    int n = 0;
    while (f && n < max && fgets(line, sizeof(line), f)) {
        char dev[32], root[PATH_MAX], mnt[PATH_MAX];
        char *sep = strstr(line, " - "), fstype[32], src[256], opts[4096];
        bool dup = false;
        if (!sep || sscanf(line, "%*s %*s %31s %4095s %4095s", dev, root, mnt) != 3 ||
            sscanf(sep + 3, "%31s %255s %4095s", fstype, src, opts) != 3)
            continue;
        bool v2 = strcmp(fstype, "cgroup2") == 0;
        if (!v2 && strcmp(fstype, "cgroup") != 0)
            continue;
        for (int i = 0; i < n; i++)
            dup = dup || strcmp(seen[i], dev) == 0;
        if (dup)
            continue; /* the same hierarchy mounted twice */
        snprintf(seen[n], sizeof(seen[n]), "%s", dev);
        struct hierarchy *x = &h[n];
        memset(x, 0, sizeof(*x));
        unescape(mnt);
        snprintf(x->mnt, sizeof(x->mnt), "%s", mnt);
        x->v2 = v2;
        if (!v2) { /* superoptions: rw,cpu,cpuacct -> cpu,cpuacct */
            size_t k = 0;
            for (char *t = strtok(opts, ","); t; t = strtok(NULL, ",")) {
                if (strcmp(t, "rw") == 0 || strcmp(t, "ro") == 0 || strchr(t, '=') != NULL) {
                    if (strncmp(t, "name=", 5) != 0)
                        continue;
                }
                k += (size_t)snprintf(x->ctrls + k, sizeof(x->ctrls) - k, "%s%s", k ? "," : "", t);
                if (k >= sizeof(x->ctrls))
                    break;
            }
            if (!x->ctrls[0])
                continue;
        }
        own_cgroup(x->ctrls, v2, x->own, sizeof(x->own));
        n++;
    }
    if (f)
        fclose(f);
    return n;
}

/* The instance's cgroup path, from the hierarchy's root ("/a/b"). */
static int target_path(const struct cgroup_limits *l, const struct hierarchy *h, char *out,
                       size_t len)
{
    const char *cgpath = l->path;
    const char *c1 = strchr(cgpath, ':'), *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
    int n;
    if (cgpath[0] == '/' && l->v1_nested && !h->v2)
        n = snprintf(out, len, "%s%s", strcmp(h->own, "/") == 0 ? "" : h->own, cgpath);
    else if (cgpath[0] == '/')
        n = snprintf(out, len, "%s", cgpath);
    else if (c2 && !strchr(c2 + 1, ':')) /* SLICE:PREFIX:NAME */
        n = snprintf(out, len, "/%.*s/%.*s-%s.scope", (int)(c1 - cgpath), cgpath,
                     (int)(c2 - c1 - 1), c1 + 1, c2 + 1);
    else
        n = snprintf(out, len, "%s/%s", strcmp(h->own, "/") == 0 ? "" : h->own, cgpath);
    return n < 0 || (size_t)n >= len || strstr(out, "/../") || strstr(out, "/./") ? -1 : 0;
}

static int write_file(const char *dir, const char *file, const char *value)
{
    char path[PATH_MAX + 64];
    int fd, e;
    snprintf(path, sizeof(path), "%s/%s", dir, file);
    fd = open(path, O_WRONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    ssize_t n = write(fd, value, strlen(value));
    e = errno;
    close(fd);
    errno = e;
    return n == (ssize_t)strlen(value) ? 0 : -1;
}

static void read_file(const char *dir, const char *file, char *out, size_t len)
{
    char path[PATH_MAX + 64];
    FILE *f;
    out[0] = '\0';
    snprintf(path, sizeof(path), "%s/%s", dir, file);
    f = fopen(path, "re");
    if (!f)
        return;
    if (!fgets(out, (int)len, f))
        out[0] = '\0';
    out[strcspn(out, "\n")] = '\0';
    fclose(f);
}

/* A new v1 cpuset cgroup starts with no CPUs and no memory nodes: give it its parent's. */
static void cpuset_inherit(const char *dir, const char *parent)
{
    static const char *const files[] = {"cpuset.cpus", "cpuset.mems"};
    for (int i = 0; i < 2; i++) {
        char v[1024];
        read_file(dir, files[i], v, sizeof(v));
        if (v[0])
            continue;
        read_file(parent, files[i], v, sizeof(v));
        if (v[0])
            write_file(dir, files[i], v);
    }
}

/* mkdir -p of mnt + path, each new level of a v1 cpuset hierarchy initialised. */
static int make_dirs(const struct hierarchy *h, const char *path, char *out, size_t len)
{
    int n = snprintf(out, len, "%s%s", h->mnt, path);
    if (n < 0 || (size_t)n >= len)
        return -1;
    for (char *p = out + strlen(h->mnt) + 1;; p++) {
        if (*p != '/' && *p != '\0')
            continue;
        char c = *p;
        *p = '\0';
        if (mkdir(out, 0755) == 0) {
            if (!h->v2 && list_has(h->ctrls, "cpuset")) {
                char parent[PATH_MAX];
                snprintf(parent, sizeof(parent), "%.*s", (int)(strrchr(out, '/') - out), out);
                cpuset_inherit(out, parent);
            }
        } else if (errno != EEXIST) {
            *p = c;
            return -1;
        }
        *p = c;
        if (c == '\0')
            return 0;
    }
}

static void set_value(struct enter *e, const char *dir, const char *file, const char *value,
                      bool *done)
{
    if (write_file(dir, file, value) == 0)
        *done = true;
    else
        cannot(e, "%s=%s (%s)", file, value, strerror(errno));
}

/* Which controllers have a limit to write. */
static bool wants(const struct cgroup_limits *s, const char *ctrl)
{
    if (strcmp(ctrl, "memory") == 0)
        return s->mem_limit > 0;
    if (strcmp(ctrl, "cpu") == 0)
        return s->cpu_quota > 0 || s->cpu_period || s->cpu_shares;
    if (strcmp(ctrl, "cpuset") == 0)
        return s->cpuset_cpus || s->cpuset_mems;
    if (strcmp(ctrl, "pids") == 0)
        return s->pids_limit != 0;
    return false;
}

static void limit_v1(struct enter *e, const struct hierarchy *h, const char *dir)
{
    const struct cgroup_limits *s = e->s;
    char v[64];
    if (list_has(h->ctrls, "memory") && s->mem_limit > 0) {
        snprintf(v, sizeof(v), "%lld", (long long)s->mem_limit);
        set_value(e, dir, "memory.limit_in_bytes", v, &e->mem_done);
    }
    if (list_has(h->ctrls, "cpu")) {
        if (s->cpu_period) {
            snprintf(v, sizeof(v), "%llu", (unsigned long long)s->cpu_period);
            set_value(e, dir, "cpu.cfs_period_us", v, &e->cpu_done);
        }
        if (s->cpu_quota > 0) {
            snprintf(v, sizeof(v), "%lld", (long long)s->cpu_quota);
            set_value(e, dir, "cpu.cfs_quota_us", v, &e->cpu_done);
        }
        if (s->cpu_shares) {
            snprintf(v, sizeof(v), "%llu", (unsigned long long)s->cpu_shares);
            set_value(e, dir, "cpu.shares", v, &e->shares_done);
        }
    }
    if (list_has(h->ctrls, "cpuset")) {
        if (s->cpuset_cpus)
            set_value(e, dir, "cpuset.cpus", s->cpuset_cpus, &e->cpuset_done);
        if (s->cpuset_mems)
            set_value(e, dir, "cpuset.mems", s->cpuset_mems, &e->cpuset_done);
    }
    if (list_has(h->ctrls, "pids") && s->pids_limit != 0) {
        if (s->pids_limit > 0)
            snprintf(v, sizeof(v), "%lld", (long long)s->pids_limit);
        else
            snprintf(v, sizeof(v), "max");
        set_value(e, dir, "pids.max", v, &e->pids_done);
    }
}

/* v2: enables the controllers with a limit that the tree has in each ancestor, then
 * writes the limits. */
static void limit_v2(struct enter *e, const struct hierarchy *h, const char *path, const char *dir)
{
    const struct cgroup_limits *s = e->s;
    char avail[512], v[128], anc[PATH_MAX];
    char enable[512] = "", *save = NULL;
    size_t k = 0;
    read_file(h->mnt, "cgroup.controllers", avail, sizeof(avail));
    for (char *w = strtok_r(avail, " ", &save); w; w = strtok_r(NULL, " ", &save))
        if (wants(s, w))
            k += (size_t)snprintf(enable + k, sizeof(enable) - k, "%s+%s", k ? " " : "", w);
    if (!k)
        return; /* the hybrid layout: the controllers live in v1 */
    /* The root, then each ancestor of the leaf, hands the controllers down. */
    snprintf(anc, sizeof(anc), "%s", h->mnt);
    for (const char *p = path;;) {
        const char *next = strchr(p + 1, '/');
        write_file(anc, "cgroup.subtree_control", enable);
        if (!next)
            break;
        size_t a = strlen(anc);
        snprintf(anc + a, sizeof(anc) - a, "%.*s", (int)(next - p), p);
        p = next;
    }
    if (s->mem_limit > 0) {
        snprintf(v, sizeof(v), "%lld", (long long)s->mem_limit);
        set_value(e, dir, "memory.max", v, &e->mem_done);
    }
    if (s->cpu_quota > 0) {
        snprintf(v, sizeof(v), "%lld %llu", (long long)s->cpu_quota,
                 (unsigned long long)(s->cpu_period ? s->cpu_period : 100000));
        set_value(e, dir, "cpu.max", v, &e->cpu_done);
    }
    if (s->cpu_shares) { /* the conversion runc and crun use */
        unsigned long long sh = s->cpu_shares < 2        ? 2
                                : s->cpu_shares > 262144 ? 262144
                                                         : s->cpu_shares;
        snprintf(v, sizeof(v), "%llu", 1 + ((sh - 2) * 9999) / 262142);
        set_value(e, dir, "cpu.weight", v, &e->shares_done);
    }
    if (s->cpuset_cpus)
        set_value(e, dir, "cpuset.cpus", s->cpuset_cpus, &e->cpuset_done);
    if (s->cpuset_mems)
        set_value(e, dir, "cpuset.mems", s->cpuset_mems, &e->cpuset_done);
    if (s->pids_limit != 0) {
        if (s->pids_limit > 0)
            snprintf(v, sizeof(v), "%lld", (long long)s->pids_limit);
        else
            snprintf(v, sizeof(v), "max");
        set_value(e, dir, "pids.max", v, &e->pids_done);
    }
}

/* Whether a v1 hierarchy carries a controller with a limit. */
static bool limits_here(const struct cgroup_limits *s, const struct hierarchy *h)
{
    static const char *const ctrls[] = {"memory", "cpu", "cpuset", "pids"};
    for (unsigned i = 0; i < sizeof(ctrls) / sizeof(ctrls[0]); i++)
        if (list_has(h->ctrls, ctrls[i]) && wants(s, ctrls[i]))
            return true;
    return false;
}

int cgroup_make(const struct cgroup_limits *s, struct cgroup_set *set, char *cannot_out, size_t len)
{
    struct hierarchy *h = calloc(HIER_MAX, sizeof(*h)); /* freed: the supervisor stays small */
    struct enter e = {.s = s, .cannot = cannot_out, .len = len};
    char path[PATH_MAX];
    int n;
    set->n = 0;
    cannot_out[0] = '\0';
    if (!s->path || !h) {
        free(h);
        if (s->path)
            cannot(&e, "out of memory");
        return 0;
    }
    n = list_hierarchies(h, HIER_MAX);
    if (n == 0)
        cannot(&e, "no cgroup hierarchy is mounted");
    for (int i = 0; i < n && set->n < CGROUP_DIRS_MAX; i++) {
        char *dir = set->dir[set->n];
        const char *what = h[i].v2 ? "unified" : h[i].ctrls;
        if (s->only_limiting && !h[i].v2 && !limits_here(s, &h[i]))
            continue;
        if (target_path(s, &h[i], path, sizeof(path)) < 0) {
            cannot(&e, "cgroupsPath '%.100s' is not usable", s->path);
            break;
        }
        if (make_dirs(&h[i], path, dir, PATH_MAX) < 0) {
            cannot(&e, "%s: %s", what, strerror(errno));
            continue;
        }
        set->n++; /* created: removed at the end even if joining fails */
        if (h[i].v2)
            limit_v2(&e, &h[i], path, dir);
        else
            limit_v1(&e, &h[i], dir);
    }
    if (s->mem_limit > 0 && !e.mem_done)
        cannot(&e, "memory limit: no usable memory controller");
    if (s->cpu_quota > 0 && !e.cpu_done)
        cannot(&e, "CPU quota: no usable cpu controller");
    if ((s->cpuset_cpus || s->cpuset_mems) && !e.cpuset_done)
        cannot(&e, "cpuset: no usable cpuset controller");
    if (s->pids_limit > 0 && !e.pids_done)
        cannot(&e, "pids limit: no usable pids controller");
    free(h);
    return (int)set->n;
}

int cgroup_join(const struct cgroup_set *set, pid_t pid, char *cannot_out, size_t len)
{
    struct enter e = {.cannot = cannot_out, .len = len};
    char pidtext[32];
    int joined = 0;
    snprintf(pidtext, sizeof(pidtext), "%d", (int)pid);
    for (unsigned i = 0; i < set->n; i++) {
        if (write_file(set->dir[i], "cgroup.procs", pidtext) < 0)
            cannot(&e, "joining %s: %s", set->dir[i], strerror(errno));
        else
            joined++;
    }
    return joined;
}

int cgroup_procs_open(const struct cgroup_set *set, int *fds)
{
    for (unsigned i = 0; i < set->n; i++) {
        char path[PATH_MAX + 16];
        snprintf(path, sizeof(path), "%s/cgroup.procs", set->dir[i]);
        if ((fds[i] = open(path, O_WRONLY | O_CLOEXEC)) < 0) {
            int e = errno;
            while (i-- > 0)
                close(fds[i]);
            errno = e;
            return -1;
        }
    }
    return 0;
}

int cgroup_join_self(const int *fds, unsigned n)
{
    for (unsigned i = 0; i < n; i++)
        if (write(fds[i], "0", 1) != 1)
            return -1;
    return 0;
}

void cgroup_read(const struct cgroup_set *set, const char *file, char *out, size_t len)
{
    out[0] = '\0';
    for (unsigned i = 0; i < set->n && !out[0]; i++)
        read_file(set->dir[i], file, out, len);
}

void cgroup_kill(char dirs[][PATH_MAX], unsigned n, int sig)
{
    for (unsigned i = 0; i < n; i++) {
        char path[PATH_MAX + 32], line[32];
        FILE *f;
        snprintf(path, sizeof(path), "%s/cgroup.procs", dirs[i]);
        f = fopen(path, "re");
        while (f && fgets(line, sizeof(line), f)) {
            pid_t pid = (pid_t)atoi(line);
            if (pid > 0 && pid != getpid())
                kill(pid, sig);
        }
        if (f)
            fclose(f);
    }
}

void cgroup_remove(char dirs[][PATH_MAX], unsigned n, unsigned wait_ms)
{
    for (unsigned i = 0; i < n; i++) {
        /* rmdir fails with EBUSY while a killed process is still leaving. */
        for (unsigned tries = 0; tries <= wait_ms / 10; tries++) {
            if (rmdir(dirs[i]) == 0 || errno == ENOENT)
                break;
            if (errno != EBUSY)
                break;
            vm_sleep_ms(10);
        }
    }
}
