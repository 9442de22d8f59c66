/* SPDX-License-Identifier: BSD-2-Clause */
/* Self-confinement of a daemon; see confine.h and docs/security.md. */
#include "common/confine.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <linux/capability.h>
#include <linux/securebits.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "common/log.h"

#ifndef SYS_SECCOMP
#define SYS_SECCOMP 1 /* si_code of a seccomp SIGSYS (asm-generic/siginfo.h) */
#endif

#define VIEW_MAX 8 /* directories bound into the new root */

/*
 * What every confined program calls once its sockets are open: the host
 * library (log.c, loop.c, control.c, publish.c, gate.c) and glibc's runtime.
 * Found by running the daemons under strace through the e2e suites; each
 * entry says why it is there. Anything else raises SIGSYS.
 */
const struct confine_rule confine_base_rules[] = {
    CONFINE_ALLOW(read),  /* signalfd, timerfd, eventfds; the sock_diag reply */
    CONFINE_ALLOW(write), /* log lines on stderr; eventfds */
    CONFINE_ALLOW(close),
    CONFINE_ALLOW(epoll_wait), /* the loop (loop.c) */
    CONFINE_ALLOW(epoll_ctl),
    CONFINE_ALLOW(accept4),     /* --publish, --uds and --control listeners */
    CONFINE_ALLOW(recvfrom),    /* recv(): CONNECT/OK lines, control commands */
    CONFINE_ALLOW(sendto),      /* send(): replies, the control answer, sock_diag */
    CONFINE_ALLOW(readv),       /* the data path: host socket -> buffer or guest memory */
    CONFINE_ALLOW(sendmsg),     /* the data path the other way (MSG_NOSIGNAL) */
    CONFINE_ALLOW(shutdown),    /* half close passed on */
    CONFINE_ALLOW(setsockopt),  /* TCP_NODELAY, SO_LINGER (reset on failure) */
    CONFINE_ALLOW(getsockopt),  /* SO_ERROR of a connect; TCP_INFO for "queued" */
    CONFINE_ALLOW(getsockname), /* a listener's family for "queued" (publish.c) */
    CONFINE_ALLOW(newfstatat),  /* fstat: a Unix listener's inode for sock_diag */
    /* Unix stream sockets only: connecting to the hybrid socket or PATH_P. */
    CONFINE_ALLOW_EQ(socket, 0, AF_UNIX),
    CONFINE_ALLOW(connect),
    CONFINE_ALLOW(unlink), /* the program's sockets at exit */
    /* malloc and free; never an executable mapping */
    CONFINE_ALLOW_MASKED(mmap, 2, PROT_EXEC, 0),
    CONFINE_ALLOW_MASKED(mprotect, 2, PROT_EXEC, 0),
    CONFINE_ALLOW(munmap),
    CONFINE_ALLOW(mremap),
    CONFINE_ALLOW(madvise),
    CONFINE_ALLOW(brk),
    CONFINE_ALLOW(getrandom),       /* glibc's malloc seeds its tcache from it */
    CONFINE_ALLOW(clock_gettime),   /* the vDSO's fallback */
    CONFINE_ALLOW(restart_syscall), /* resumes an allowed call after a stop */
    CONFINE_ALLOW(exit_group),
    CONFINE_ALLOW(exit),
};
const unsigned confine_base_count = sizeof(confine_base_rules) / sizeof(confine_base_rules[0]);

/* The SIGSYS handler re-raises with this call, which no list may allow: reboot
 * with no valid magic (EINVAL even where it were executed). */
#define FATAL_SYSCALL SCMP_SYS(reboot)

static int fail(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int fail(char *err, size_t errlen, const char *fmt, ...)
{
    va_list ap;
    int e = errno;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
    errno = e;
    return -1;
}

/* ---- the file system view */

int confine_dir_of(const char *path, const char *cwd, char *out, size_t len)
{
    char buf[2 * PATH_MAX];
    int n = path[0] == '/' ? snprintf(buf, sizeof(buf), "%s", path)
                           : snprintf(buf, sizeof(buf), "%s/%s", cwd, path);
    size_t o = 0;
    if (n < 0 || (size_t)n >= sizeof(buf) || len < 2)
        return -1;
    *strrchr(buf, '/') = '\0'; /* the file's own name goes */
    for (char *c = buf, *next; *c; c = next) {
        size_t clen = strcspn(c, "/");
        next = c + clen + (c[clen] == '/');
        if (clen == 0 || (clen == 1 && c[0] == '.'))
            continue;
        if (clen == 2 && c[0] == '.' && c[1] == '.') {
            while (o > 0 && out[o - 1] != '/')
                o--;
            if (o > 0)
                o--; /* the slash */
            continue;
        }
        if (o + 1 + clen + 1 > len)
            return -1;
        out[o++] = '/';
        memcpy(out + o, c, clen);
        o += clen;
    }
    if (o == 0)
        out[o++] = '/';
    out[o] = '\0';
    return 0;
}

struct view {
    char dir[PATH_MAX]; /* where it appears in the new root (absolute, lexical) */
    char src[PATH_MAX]; /* how the program names it (for the error message) */
    int fd;             /* O_PATH of the host directory, opened before the namespaces */
    bool skip;          /* inside another view's directory: visible through it */
};

static bool is_under(const char *path, const char *dir)
{
    size_t n = strlen(dir);
    return strncmp(path, dir, n) == 0 && (path[n] == '/' || path[n] == '\0' || n == 1);
}

/* The directories of the program's paths, each opened; nested ones marked skip. */
static int views_open(const struct confine_spec *s, const char *cwd, struct view *v, unsigned *nv,
                      char *err, size_t errlen)
{
    *nv = 0;
    for (unsigned i = 0; i < s->npaths; i++) {
        const char *p = s->paths[i];
        char dir[PATH_MAX];
        if (!p)
            continue;
        if (confine_dir_of(p, cwd, dir, sizeof(dir)) < 0)
            return fail(err, errlen, "%s: path too long", p);
        if (strcmp(dir, "/") == 0)
            return fail(err, errlen,
                        "%s: a socket in / would leave the whole file system in view; "
                        "use a directory of its own",
                        p);
        bool dup = false;
        for (unsigned k = 0; k < *nv; k++)
            dup = dup || strcmp(v[k].dir, dir) == 0;
        if (dup)
            continue;
        if (*nv == VIEW_MAX)
            return fail(err, errlen, "more than %d socket directories", VIEW_MAX);
        struct view *w = &v[(*nv)++];
        w->fd = -1;
        w->skip = false;
        snprintf(w->dir, sizeof(w->dir), "%s", dir);
        snprintf(w->src, sizeof(w->src), "%s", p);
        /* The directory as the program's own lookups resolve it (symlinks included). */
        char host[PATH_MAX];
        const char *slash = strrchr(p, '/');
        if (!slash)
            snprintf(host, sizeof(host), ".");
        else
            snprintf(host, sizeof(host), "%.*s", slash == p ? 1 : (int)(slash - p), p);
        w->fd = open(host, O_PATH | O_DIRECTORY | O_CLOEXEC);
        if (w->fd < 0)
            return fail(err, errlen, "%s: its directory: %s", p, strerror(errno));
    }
    for (unsigned i = 0; i < *nv; i++)
        for (unsigned k = 0; k < *nv; k++)
            if (k != i && !v[k].skip && strlen(v[k].dir) < strlen(v[i].dir) &&
                is_under(v[i].dir, v[k].dir))
                v[i].skip = true;
    return 0;
}

static void views_close(struct view *v, unsigned nv)
{
    for (unsigned i = 0; i < nv; i++)
        if (v[i].fd >= 0)
            close(v[i].fd);
}

/* Inside (or at) a directory that is bound from the host: never create there. */
static bool in_bound(const char *path, const struct view *v, unsigned nv)
{
    for (unsigned i = 0; i < nv; i++)
        if (!v[i].skip && is_under(path, v[i].dir))
            return true;
    return false;
}

/* mkdir -p of abs (absolute, lexical) under the new root's fd, stopping at host directories. */
static int make_dirs(int root, const char *abs, const struct view *v, unsigned nv)
{
    char part[PATH_MAX];
    size_t len = strlen(abs);
    for (size_t i = 1; i <= len; i++) {
        if (abs[i] != '/' && abs[i] != '\0')
            continue;
        memcpy(part, abs, i);
        part[i] = '\0';
        if (in_bound(part, v, nv))
            return 0;
        if (mkdirat(root, part + 1, 0755) < 0 && errno != EEXIST)
            return -1;
    }
    return 0;
}

/*
 * The new root: an empty tmpfs with each view bound in at its path (nosuid,
 * nodev, noexec), made the process's root by pivot_root, the old root
 * detached, the tmpfs then read-only. Called in a fresh mount namespace.
 */
static int build_root(struct view *v, unsigned nv, const char *cwd, char *err, size_t errlen)
{
    const char *mnt = NULL;
    for (unsigned i = 0; i < nv; i++)
        if (!v[i].skip && (!mnt || strlen(v[i].dir) < strlen(mnt)))
            mnt = v[i].dir;
    if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
        return fail(err, errlen, "making the mount namespace private: %s", strerror(errno));
    /* Mounted over one of the views (it exists); its content stays reachable through v->fd. */
    if (mount("miura-root", mnt, "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC,
              "size=64k,nr_inodes=256,mode=0755") < 0)
        return fail(err, errlen, "tmpfs for the new root: %s", strerror(errno));
    int root = open(mnt, O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (root < 0)
        return fail(err, errlen, "the new root: %s", strerror(errno));
    for (unsigned i = 0; i < nv; i++) {
        if (v[i].skip)
            continue;
        char parent[PATH_MAX];
        memcpy(parent, v[i].dir, sizeof(parent)); /* NUL-terminated within */
        *strrchr(parent, '/') = '\0';
        if ((parent[0] && make_dirs(root, parent, v, nv) < 0) ||
            (mkdirat(root, v[i].dir + 1, 0755) < 0 && errno != EEXIST)) {
            fail(err, errlen, "%s in the new root: %s", v[i].dir, strerror(errno));
            goto out;
        }
        int tree = open_tree(v[i].fd, "", OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_EMPTY_PATH);
        struct mount_attr attr = {.attr_set =
                                      MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC};
        if (tree < 0 || mount_setattr(tree, "", AT_EMPTY_PATH, &attr, sizeof(attr)) < 0 ||
            move_mount(tree, "", root, v[i].dir + 1, MOVE_MOUNT_F_EMPTY_PATH) < 0) {
            fail(err, errlen, "binding %s: %s", v[i].dir, strerror(errno));
            if (tree >= 0)
                close(tree);
            goto out;
        }
        close(tree);
    }
    if (make_dirs(root, cwd, v, nv) < 0) { /* relative paths keep working */
        fail(err, errlen, "%s in the new root: %s", cwd, strerror(errno));
        goto out;
    }
    /* pivot_root(".", "."): the old root lands on top of the new one; detach it. */
    if (fchdir(root) < 0 || syscall(SYS_pivot_root, ".", ".") < 0 || umount2(".", MNT_DETACH) < 0 ||
        chdir("/") < 0) {
        fail(err, errlen, "pivot_root: %s", strerror(errno));
        goto out;
    }
    if (mount(NULL, "/", NULL, MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC,
              NULL) < 0) {
        fail(err, errlen, "making the new root read-only: %s", strerror(errno));
        goto out;
    }
    if (chdir(cwd) < 0) {
        fail(err, errlen, "%s in the new root: %s", cwd, strerror(errno));
        goto out;
    }
    close(root);
    return 0;
out:
    close(root);
    return -1;
}

/* Non-root: a user namespace mapping only ourselves, so that the others can be made. */
static int map_self(uid_t uid, gid_t gid, char *err, size_t errlen)
{
    char line[64];
    /* A process that changed its uid is not dumpable, and its /proc files are
     * then root's: the maps could not be written. (Undone before the end.) */
    if (prctl(PR_SET_DUMPABLE, 1, 0, 0, 0) < 0)
        return fail(err, errlen, "PR_SET_DUMPABLE: %s", strerror(errno));
    struct {
        const char *file;
        unsigned id;
    } maps[] = {
        {"/proc/self/setgroups", 0}, {"/proc/self/uid_map", uid}, {"/proc/self/gid_map", gid}};
    for (unsigned i = 0; i < 3; i++) {
        int n = i == 0 ? snprintf(line, sizeof(line), "deny")
                       : snprintf(line, sizeof(line), "%u %u 1", maps[i].id, maps[i].id);
        int fd = open(maps[i].file, O_WRONLY | O_CLOEXEC);
        if (fd < 0 || write(fd, line, (size_t)n) != n) {
            fail(err, errlen, "%s: %s", maps[i].file, strerror(errno));
            if (fd >= 0)
                close(fd);
            return -1;
        }
        close(fd);
    }
    return 0;
}

/* ---- identity and capabilities */

/* Empties the bounding and ambient sets and locks the securebits (needs CAP_SETPCAP). */
static int drop_bounding(bool privileged, char *err, size_t errlen)
{
    for (int cap = 0; cap <= 63; cap++) {
        if (prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) == 0 || errno == EINVAL)
            continue; /* EINVAL: past the kernel's last capability */
        if (!privileged && errno == EPERM)
            break; /* nothing to drop from: an unprivileged process has no capabilities */
        return fail(err, errlen, "PR_CAPBSET_DROP: %s", strerror(errno));
    }
    if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0 && errno != EINVAL)
        return fail(err, errlen, "PR_CAP_AMBIENT_CLEAR_ALL: %s", strerror(errno));
    /* uid 0 grants nothing on exec, and none of this can be undone. */
    unsigned long bits = SECBIT_NOROOT | SECBIT_NOROOT_LOCKED | SECBIT_KEEP_CAPS_LOCKED |
                         SECBIT_NO_SETUID_FIXUP_LOCKED | SECBIT_NO_CAP_AMBIENT_RAISE |
                         SECBIT_NO_CAP_AMBIENT_RAISE_LOCKED;
    if (prctl(PR_SET_SECUREBITS, bits, 0, 0, 0) < 0 && (privileged || errno != EPERM))
        return fail(err, errlen, "PR_SET_SECUREBITS: %s", strerror(errno));
    return 0;
}

static int clear_caps(char *err, size_t errlen)
{
    struct __user_cap_header_struct hdr = {.version = _LINUX_CAPABILITY_VERSION_3, .pid = 0};
    struct __user_cap_data_struct data[_LINUX_CAPABILITY_U32S_3];
    memset(data, 0, sizeof(data));
    if (syscall(SYS_capset, &hdr, data) < 0)
        return fail(err, errlen, "capset: %s", strerror(errno));
    return 0;
}

static int become(const struct run_user *u, char *err, size_t errlen)
{
    int pdeath = 0;
    pid_t parent = getppid();
    prctl(PR_GET_PDEATHSIG, &pdeath, 0, 0, 0);
    if (setgroups(0, NULL) < 0 || setresgid(u->gid, u->gid, u->gid) < 0 ||
        setresuid(u->uid, u->uid, u->uid) < 0)
        return fail(err, errlen, "becoming uid %u gid %u: %s", (unsigned)u->uid, (unsigned)u->gid,
                    strerror(errno));
    /* The change of credentials cleared the parent-death signal (the launcher's
     * PR_SET_PDEATHSIG): set it again, and leave if the parent is already gone. */
    if (pdeath && (prctl(PR_SET_PDEATHSIG, pdeath, 0, 0, 0) < 0 || getppid() != parent))
        return fail(err, errlen, "the parent went away while confining");
    return 0;
}

static int set_limits(const struct confine_spec *s, char *err, size_t errlen)
{
    struct rlimit nofile;
    if (getrlimit(RLIMIT_NOFILE, &nofile) < 0)
        return fail(err, errlen, "getrlimit: %s", strerror(errno));
    struct {
        int res;
        const char *name;
        rlim_t max;
    } lim[] = {
        {RLIMIT_CORE, "CORE", 0},       /* no core file of guest memory */
        {RLIMIT_MEMLOCK, "MEMLOCK", 0}, /* nothing to lock */
        {RLIMIT_MSGQUEUE, "MSGQUEUE", 0},
        {RLIMIT_NPROC, "NPROC", 0}, /* no processes (seccomp forbids them as well) */
        {RLIMIT_LOCKS, "LOCKS", 0},
        {RLIMIT_RTPRIO, "RTPRIO", 0},
        {RLIMIT_NICE, "NICE", 0}, /* no priority above the default */
        {RLIMIT_SIGPENDING, "SIGPENDING", 64},
        {RLIMIT_NOFILE, "NOFILE", nofile.rlim_cur}, /* raised at start as far as needed */
        {RLIMIT_DATA, "DATA", s->data_bytes ? s->data_bytes : RLIM_INFINITY},
    };
    for (unsigned i = 0; i < sizeof(lim) / sizeof(lim[0]); i++) {
        struct rlimit r;
        if (getrlimit(lim[i].res, &r) < 0)
            return fail(err, errlen, "getrlimit %s: %s", lim[i].name, strerror(errno));
        /* Only ever lowered: both soft and hard, so it cannot be raised again. */
        if (lim[i].max < r.rlim_max)
            r.rlim_max = lim[i].max;
        r.rlim_cur = r.rlim_max;
        if (setrlimit(lim[i].res, &r) < 0)
            return fail(err, errlen, "setrlimit %s: %s", lim[i].name, strerror(errno));
    }
    return 0;
}

/* ---- seccomp */

/* System call names for the SIGSYS line, resolved beforehand: the handler
 * may run inside malloc, so it must not allocate. */
#define NAME_SLOTS 512
static uint16_t name_off[NAME_SLOTS]; /* into name_pool; 0: unknown */
static char name_pool[8192];
static const char *sigsys_prog = "miura";

static void names_prepare(void)
{
    size_t used = 1; /* offset 0 means "no name" */
    for (int nr = 0; nr < NAME_SLOTS; nr++) {
        char *n = seccomp_syscall_resolve_num_arch(SCMP_ARCH_NATIVE, nr);
        size_t len = n ? strlen(n) : 0;
        if (n && used + len + 1 <= sizeof(name_pool)) {
            memcpy(name_pool + used, n, len + 1);
            name_off[nr] = (uint16_t)used;
            used += len + 1;
        }
        free(n);
    }
}

static size_t put_str(char *buf, size_t o, size_t cap, const char *s)
{
    while (*s && o < cap)
        buf[o++] = *s++;
    return o;
}

static size_t put_num(char *buf, size_t o, size_t cap, long v)
{
    char digits[24];
    int n = 0;
    unsigned long u = v < 0 ? (unsigned long)-v : (unsigned long)v;
    if (v < 0)
        o = put_str(buf, o, cap, "-");
    do {
        digits[n++] = (char)('0' + u % 10);
        u /= 10;
    } while (u);
    while (n > 0 && o < cap)
        buf[o++] = digits[--n];
    return o;
}

/* Async-signal-safe: one write, then the process ends by SIGSYS. */
static void on_sigsys(int sig, siginfo_t *si, void *uctx)
{
    char line[256];
    size_t o = 0, cap = sizeof(line) - 1;
    (void)sig;
    (void)uctx;
    o = put_str(line, o, cap, sigsys_prog);
    if (si->si_code == SYS_SECCOMP) {
        int nr = si->si_syscall;
        o = put_str(line, o, cap, ": seccomp: system call ");
        o = put_num(line, o, cap, nr);
        if (nr >= 0 && nr < NAME_SLOTS && name_off[nr]) {
            o = put_str(line, o, cap, " (");
            o = put_str(line, o, cap, name_pool + name_off[nr]);
            o = put_str(line, o, cap, ")");
        }
        o = put_str(line, o, cap, " is not allowed: ending the process");
    } else {
        o = put_str(line, o, cap, ": SIGSYS (not from seccomp): ending the process");
    }
    line[o++] = '\n';
    if (write(STDERR_FILENO, line, o) < 0) {
        /* nowhere else to say it */
    }
    /* SA_RESETHAND made SIGSYS fatal: this call, never allowed, ends the process by it. */
    syscall(FATAL_SYSCALL, 0, 0, 0, NULL);
    _exit(128 + SIGSYS);
}

static int load_filter(const struct confine_spec *s, char *err, size_t errlen)
{
    scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_TRAP);
    int rc = 0;
    if (!ctx)
        return fail(err, errlen, "seccomp_init failed");
    rc = seccomp_attr_set(ctx, SCMP_FLTATR_ACT_BADARCH, SCMP_ACT_KILL_PROCESS);
    for (unsigned i = 0; rc == 0 && i < confine_base_count + s->nrules; i++) {
        const struct confine_rule *r =
            i < confine_base_count ? &confine_base_rules[i] : &s->rules[i - confine_base_count];
        if (r->nr == FATAL_SYSCALL) {
            seccomp_release(ctx);
            return fail(err, errlen, "the allow-list names reboot, the call SIGSYS ends with");
        }
        rc = seccomp_rule_add_array(ctx, SCMP_ACT_ALLOW, r->nr, r->nargs, r->arg);
    }
    if (rc < 0) {
        seccomp_release(ctx);
        return fail(err, errlen, "building the seccomp filter: %s", strerror(-rc));
    }
    struct sigaction sa = {.sa_sigaction = on_sigsys,
                           .sa_flags = SA_SIGINFO | SA_RESETHAND | SA_NODEFER};
    sigemptyset(&sa.sa_mask);
    sigset_t sys;
    sigemptyset(&sys);
    sigaddset(&sys, SIGSYS);
    if (sigaction(SIGSYS, &sa, NULL) < 0 || sigprocmask(SIG_UNBLOCK, &sys, NULL) < 0) {
        seccomp_release(ctx);
        return fail(err, errlen, "SIGSYS handler: %s", strerror(errno));
    }
    rc = seccomp_load(ctx);
    seccomp_release(ctx);
    if (rc < 0)
        return fail(err, errlen, "loading the seccomp filter: %s", strerror(-rc));
    return 0;
}

/* ---- all of it */

/* After a failure: the sockets the program made go, through the views' fds
 * (its own unlink would look in a half-built root). */
static void remove_owned(const struct confine_spec *s, const char *cwd, const struct view *v,
                         unsigned nv)
{
    for (unsigned i = 0; i < s->nowned; i++) {
        char dir[PATH_MAX];
        const char *p = s->owned[i], *base;
        if (!p || confine_dir_of(p, cwd, dir, sizeof(dir)) < 0)
            continue;
        base = strrchr(p, '/') ? strrchr(p, '/') + 1 : p;
        for (unsigned k = 0; k < nv; k++)
            if (strcmp(v[k].dir, dir) == 0 && v[k].fd >= 0)
                unlinkat(v[k].fd, base, 0);
    }
}

int confine_self(const struct confine_spec *s, char *err, size_t errlen)
{
    struct view v[VIEW_MAX];
    unsigned nv = 0;
    char cwd[PATH_MAX];
    bool root = geteuid() == 0;
    uid_t uid = getuid();
    gid_t gid = getgid();
    sigsys_prog = log_prog;
    if (s->user.set && !root)
        return fail(err, errlen, "--user needs root (running as uid %u)", (unsigned)uid);
    if (!getcwd(cwd, sizeof(cwd)))
        return fail(err, errlen, "getcwd: %s", strerror(errno));
    names_prepare();
    if (s->user.set)
        for (unsigned i = 0; i < s->nowned; i++)
            if (s->owned[i] && chown(s->owned[i], s->user.uid, s->user.gid) < 0)
                return fail(err, errlen, "%s: chown: %s", s->owned[i], strerror(errno));
    int ns = CLONE_NEWNS | CLONE_NEWNET | CLONE_NEWIPC;
    bool namespaced = true;
    if (unshare(root ? ns : ns | CLONE_NEWUSER) < 0) {
        if (root)
            return fail(err, errlen, "unshare: %s", strerror(errno));
        /* A kernel or container that forbids user namespaces to unprivileged users. */
        log_error("cannot hide the host file system and network (user namespaces: %s); "
                  "seccomp, no_new_privs and limits still apply",
                  strerror(errno));
        namespaced = false;
    }
    if (namespaced && !root && map_self(uid, gid, err, errlen) < 0)
        return -1;
    /* Opened in the new namespace: only its mounts can be bound. */
    if (views_open(s, cwd, v, &nv, err, errlen) < 0)
        goto fail;
    if (namespaced && nv > 0 && build_root(v, nv, cwd, err, errlen) < 0)
        goto fail;
    if (drop_bounding(root || namespaced, err, errlen) < 0)
        goto fail;
    if (s->user.set && become(&s->user, err, errlen) < 0)
        goto fail;
    if (clear_caps(err, errlen) < 0 || set_limits(s, err, errlen) < 0)
        goto fail;
    if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) < 0 || prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0) {
        fail(err, errlen, "prctl: %s", strerror(errno));
        goto fail;
    }
    /* Directory fds would reach past the new root ("..") : none is kept. */
    views_close(v, nv);
    nv = 0;
    if (load_filter(s, err, errlen) < 0)
        return -1;
    return 0;
fail:
    remove_owned(s, cwd, v, nv);
    views_close(v, nv);
    return -1;
}

int confine_from_options(const struct common_opts *o, struct confine_spec *s)
{
    char err[512];
    if (o->unconfined) {
        log_error("not confined (--unconfined): no seccomp filter, no namespaces, "
                  "the identity and capabilities it was started with");
        return 0;
    }
    s->user = o->user;
    /* Asked now: getuid is not on the allow-list. */
    unsigned uid = o->user.set ? o->user.uid : getuid(), gid = o->user.set ? o->user.gid : getgid();
    if (confine_self(s, err, sizeof(err)) < 0) {
        fprintf(stderr, "%s: confining: %s\n", log_prog, err);
        return -1;
    }
    log_event("confined: uid %u gid %u, %u system calls allowed, no capabilities", uid, gid,
              confine_base_count + s->nrules);
    return 0;
}
