/* SPDX-License-Identifier: BSD-2-Clause */
/* The container's supervisor; see supervise.h. */
#include "oci/supervise.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/close_range.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "common/cidlock.h"
#include "common/runtime_dir.h"
#include "common/vm_identity.h"
#include "common/vm_parts.h"
#include "oci/cgroup.h"
#include "oci/enter.h"

#define PROG     "miura-oci"
#define NVFS_MAX (1 + PLAN_EXTRA_SHARES_MAX)

/* Everything the supervisor needs once set up: what goes over exec. */
struct sup {
    const char *state_dir, *run_dir, *base;
    uint32_t cid;
    int cid_fd;
    int id_fd;                          /* as root: the instance identity's lock, else -1 */
    struct instance_id id;              /* (vm_identity.h) */
    struct vm_confine confine;          /* how QEMU starts (identity_qemu_confine) */
    int qemu_fd[IDENTITY_QEMU_FDS_MAX]; /* with an identity: its kernel and sockets */
    unsigned nqemu_fd;
    int lfd;          /* start.sock, until `start` */
    char **qemu_argv; /* NULL-terminated */
    struct vm_part qemu, vsockd, virtiofsd[NVFS_MAX];
    unsigned nvfs; /* virtiofsd parts in use */
    int sfd;
    int signal_seen; /* the stop signal, 0 if none */
};

/* vsockd, then each virtiofsd: the order vm_exit_status blames them in. */
static int daemons(struct sup *s, struct vm_part **out)
{
    int n = 0;
    out[n++] = &s->vsockd;
    for (unsigned i = 0; i < s->nvfs; i++)
        out[n++] = &s->virtiofsd[i];
    return n;
}

static void reap(struct sup *s)
{
    struct vm_part *parts[2 + NVFS_MAX];
    int n = daemons(s, parts);
    parts[n++] = &s->qemu;
    vm_reap(parts, n);
}

static bool any_ended(struct sup *s)
{
    struct vm_part *d[1 + NVFS_MAX];
    int n = daemons(s, d);
    for (int i = 0; i < n; i++)
        if (d[i]->exited)
            return true;
    return s->qemu.exited;
}

/* Reads pending signals (reaping on SIGCHLD); true once a stop signal came. */
static bool read_signals(struct sup *s)
{
    struct signalfd_siginfo si;
    while (read(s->sfd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
        int sig = (int)si.ssi_signo;
        if ((sig == SIGTERM || sig == SIGINT || sig == SIGHUP || sig == SIGQUIT) && !s->signal_seen)
            s->signal_seen = sig;
    }
    reap(s);
    return s->signal_seen != 0;
}

static bool interrupted(void *ctx)
{
    return read_signals(ctx);
}

/* Stops every part, removes the run directory and the CID lock, exits with status. */
static void __attribute__((noreturn)) finish(struct sup *s, int status)
{
    struct vm_part *d[1 + NVFS_MAX];
    int n = daemons(s, d);
    vm_stop(&s->qemu, d, n);
    rundir_remove(s->run_dir);
    identity_release(s->run_dir, false, &s->id, s->id_fd);
    cid_unlock(s->base, s->cid, s->cid_fd);
    exit(status);
}

int supervise_start_socket(const char *run_dir, char *out, size_t len)
{
    int n = snprintf(out, len, "%s/start.sock", run_dir);
    return n < 0 || (size_t)n >= len ? -1 : 0;
}

static int listen_start(const char *run_dir)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    int fd;
    if (supervise_start_socket(run_dir, sa.sun_path, sizeof(sa.sun_path)) < 0) {
        errno = ENAMETOOLONG;
        return -1;
    }
    fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0)
        return -1;
    if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(fd, 4) < 0) {
        int e = errno;
        close(fd);
        errno = e;
        return -1;
    }
    return fd;
}

/* `start`: QEMU, the started mark, the answer. false if QEMU could not run. */
static bool boot(struct sup *s, int conn)
{
    char path[PATH_MAX + 16], reply[600];
    bool ok = false;
    /* The console is our stdout: the container's (or its terminal). QEMU
     * starts confined; with an identity its kernel and sockets are the
     * descriptors opened at set-up (vm_identity.h). */
    const struct vm_spawn_io io = {
        .stdout_fd = -1, .pass_fds = s->qemu_fd, .npass = s->nqemu_fd, .confine = &s->confine};
    int rc = vm_spawn_io(&s->qemu, s->qemu_argv, VM_SPAWN_QUIET_STDIN, &io);
    for (unsigned i = 0; i < s->nqemu_fd; i++)
        close(s->qemu_fd[i]);
    s->nqemu_fd = 0;
    if (rc < 0) {
        snprintf(reply, sizeof(reply), "error: cannot run %s: %s\n", s->qemu_argv[0],
                 strerror(errno));
        fprintf(stderr, PROG ": %s", reply + strlen("error: "));
    } else {
        int fd;
        snprintf(path, sizeof(path), "%s/started", s->state_dir);
        fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
        if (fd >= 0)
            close(fd);
        snprintf(reply, sizeof(reply), "ok\n");
        ok = true;
    }
    if (write(conn, reply, strlen(reply)) < 0) {
        /* `start` went away: the outcome stands */
    }
    close(conn);
    return ok;
}

/* Created: wait for `start`, a stop signal, or a daemon's end. */
static void wait_for_start(struct sup *s)
{
    for (;;) {
        struct pollfd p[2] = {{.fd = s->sfd, .events = POLLIN}, {.fd = s->lfd, .events = POLLIN}};
        if (poll(p, 2, -1) < 0 && errno != EINTR)
            finish(s, VM_EXIT_FAILED);
        if (read_signals(s))
            finish(s, 128 + s->signal_seen);
        if (any_ended(s)) {
            struct vm_part *d[1 + NVFS_MAX];
            int n = daemons(s, d);
            finish(s, vm_exit_status(&s->qemu, d, n, PROG));
        }
        if (p[1].revents & POLLIN) {
            int conn = accept4(s->lfd, NULL, NULL, SOCK_CLOEXEC);
            if (conn < 0)
                continue;
            close(s->lfd); /* one start only: a second one finds no listener */
            s->lfd = -1;
            if (!boot(s, conn))
                finish(s, VM_EXIT_FAILED);
            return;
        }
    }
}

/* Created, then running: until the guest or a part ends, or a stop signal. */
static void __attribute__((noreturn)) run(struct sup *s)
{
    struct vm_part *d[1 + NVFS_MAX];
    int n = daemons(s, d);
    sigset_t set;
    if (s->sfd < 0) { /* after exec: the mask survived it, the signalfd did not */
        sigprocmask(SIG_BLOCK, NULL, &set);
        s->sfd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
        if (s->sfd < 0) {
            fprintf(stderr, PROG ": signalfd: %s\n", strerror(errno));
            finish(s, VM_EXIT_FAILED);
        }
    }
    wait_for_start(s);
    for (;;) {
        struct pollfd p = {.fd = s->sfd, .events = POLLIN};
        if (read_signals(s)) {
            fprintf(stderr, PROG ": stopping on %s\n", strsignal(s->signal_seen));
            finish(s, 128 + s->signal_seen);
        }
        if (any_ended(s))
            finish(s, vm_exit_status(&s->qemu, d, n, PROG));
        poll(&p, 1, -1);
    }
}

/* ------------------------------------------------------------ set-up */

static void part_log(struct vm_part *p, const char *what, const char *run_dir, const char *file)
{
    p->what = what;
    if (snprintf(p->log, sizeof(p->log), "%s/%s", run_dir, file) >= (int)sizeof(p->log))
        p->log[0] = '\0'; /* not reached: run directories are short (Unix socket paths) */
}

/* virtiofsd (one per share) and miura-vsockd, and their sockets. */
static void start_daemons(struct sup *s, const struct launch_config *c)
{
    struct argv_list vfs[NVFS_MAX], vsd, qemu;
    const char *err;
    char path[PATH_MAX + 64];
    const unsigned flags = VM_SPAWN_OWN_GROUP | VM_SPAWN_QUIET_STDIN | VM_SPAWN_STDOUT_TO_LOG;
    if (plan_build(c, &vfs[0], &vsd, &qemu, &err) < 0) {
        fprintf(stderr, PROG ": %s\n", err);
        finish(s, VM_EXIT_FAILED);
    }
    s->qemu_argv = calloc((size_t)qemu.argc + 1, sizeof(char *));
    for (int i = 0; s->qemu_argv && i < qemu.argc; i++)
        s->qemu_argv[i] = qemu.argv[i]; /* the strings are ours now */
    if (!s->qemu_argv) {
        fprintf(stderr, PROG ": out of memory\n");
        finish(s, VM_EXIT_FAILED);
    }
    s->nvfs = 1 + c->nextra;
    for (unsigned i = 0; i < c->nextra; i++) {
        if (plan_build_extra(c, i, &vfs[1 + i], &err) < 0) {
            fprintf(stderr, PROG ": %s\n", err);
            finish(s, VM_EXIT_FAILED);
        }
    }
    for (unsigned i = 0; i < s->nvfs; i++) {
        char file[PLAN_TAG_MAX + 32];
        snprintf(file, sizeof(file), "virtiofsd%s%s.log", i ? "-" : "",
                 i ? c->extra[i - 1].tag : "");
        part_log(&s->virtiofsd[i], "virtiofsd", s->run_dir, file);
        if (vm_spawn(&s->virtiofsd[i], vfs[i].argv, flags) < 0) {
            fprintf(stderr, PROG ": cannot run %s: %s\n", vfs[i].argv[0], strerror(errno));
            finish(s, VM_EXIT_FAILED);
        }
        plan_free(&vfs[i]);
    }
    if (vm_spawn(&s->vsockd, vsd.argv, flags) < 0) {
        fprintf(stderr, PROG ": cannot run %s: %s\n", vsd.argv[0], strerror(errno));
        finish(s, VM_EXIT_FAILED);
    }
    plan_free(&vsd);
    for (unsigned i = 0; i < s->nvfs; i++) {
        if (i == 0)
            snprintf(path, sizeof(path), "%s/fs.sock", s->run_dir);
        else
            plan_extra_socket(c, i - 1, path, sizeof(path));
        if (vm_wait_socket(&s->virtiofsd[i], path, interrupted, s, PROG) < 0)
            finish(s, s->signal_seen ? 128 + s->signal_seen : VM_EXIT_FAILED);
    }
    static const char *const vsockd_files[] = {"vhost.sock", "vsock.sock"};
    for (int i = 0; i < 2; i++) {
        snprintf(path, sizeof(path), "%s/%s", s->run_dir, vsockd_files[i]);
        if (vm_wait_socket(&s->vsockd, path, interrupted, s, PROG) < 0)
            finish(s, s->signal_seen ? 128 + s->signal_seen : VM_EXIT_FAILED);
    }
    identity_qemu_confine(c, &s->confine);
    if (c->own_id) {
        char err[600];
        if (identity_qemu_fds(c, s->qemu_fd, &s->nqemu_fd, err, sizeof(err)) < 0) {
            fprintf(stderr, PROG ": %s\n", err);
            finish(s, VM_EXIT_FAILED);
        }
    }
}

/* Takes on the container's cgroup, network namespace, limits and terminal. */
static void enter_container(struct sup *s, struct supervise_request *r, int *console_fd)
{
    struct cgroup_set *set = calloc(1, sizeof(*set));
    char cannot[1024], err[512];
    if (!set) {
        fprintf(stderr, PROG ": out of memory\n");
        finish(s, VM_EXIT_FAILED);
    }
    cgroup_enter(r->spec, getpid(), set, cannot, sizeof(cannot));
    for (unsigned i = 0; i < set->n; i++)
        fprintf(stderr, "@cgroup %s\n", set->dir[i]);
    free(set);
    if (cannot[0])
        fprintf(stderr, PROG ": cgroup: not applied: %s\n", cannot);
    if (enter_netns(r->spec, err, sizeof(err)) < 0) {
        fprintf(stderr, PROG ": %s\n", err);
        finish(s, VM_EXIT_FAILED);
    }
    cannot[0] = '\0';
    enter_rlimits(r->spec, cannot, sizeof(cannot));
    if (cannot[0])
        fprintf(stderr, PROG ": rlimits: %s\n", cannot);
    *console_fd = -1;
    if (r->spec->terminal) {
        *console_fd = enter_console(r->console_socket, err, sizeof(err));
        if (*console_fd < 0) {
            fprintf(stderr, PROG ": %s\n", err);
            finish(s, VM_EXIT_FAILED);
        }
    }
}

/* flags 0: the descriptors the exec'd supervisor takes over stay open
 * across exec; FD_CLOEXEC: not (after it, or if it failed). */
static void keep_over_exec(struct sup *s, int flags)
{
    fcntl(s->cid_fd, F_SETFD, flags);
    fcntl(s->lfd, F_SETFD, flags);
    if (s->id_fd >= 0)
        fcntl(s->id_fd, F_SETFD, flags);
    for (unsigned i = 0; i < s->nqemu_fd; i++)
        fcntl(s->qemu_fd[i], F_SETFD, flags);
}

/*
 * Set up, the supervisor becomes a fresh image of itself ("__supervise"):
 * its children and signal mask stay, and what it touched while parsing and
 * preparing (jansson's tree, create's buffers) is gone. About half of its
 * host memory otherwise. If exec fails it simply goes on as it is.
 */
static void __attribute__((noreturn)) hand_over(struct sup *s)
{
    char nums[4 + 2 * NVFS_MAX][24], confine[128], fds[16 * IDENTITY_QEMU_FDS_MAX + 2];
    char *argv[16 + 4 * NVFS_MAX + PLAN_ARGV_MAX];
    int n = 0, k = 0;
    argv[n++] = PROG;
    argv[n++] = "__supervise";
    argv[n++] = (char *)s->state_dir;
    argv[n++] = (char *)s->run_dir;
    argv[n++] = (char *)s->base;
#define NUM(v) (snprintf(nums[k], sizeof(nums[k]), "%lld", (long long)(v)), nums[k++])
    argv[n++] = NUM(s->cid);
    argv[n++] = NUM(s->cid_fd);
    argv[n++] = NUM(s->lfd);
    argv[n++] = NUM(s->vsockd.pid);
    argv[n++] = NUM(s->id_fd);
    const struct vm_confine *c = &s->confine;
    snprintf(confine, sizeof(confine), "%d:%u:%u:%d:%u:%d:%d:%d", c->as_user, c->uid, c->gid,
             c->has_extra, c->extra_gid, c->new_net, c->own_view, c->view_kvm);
    argv[n++] = confine;
    fds[0] = '\0';
    for (unsigned i = 0, off = 0; i < s->nqemu_fd; i++)
        off +=
            (unsigned)snprintf(fds + off, sizeof(fds) - off, "%s%d", i ? "," : "", s->qemu_fd[i]);
    argv[n++] = s->nqemu_fd ? fds : "-";
    for (unsigned i = 0; i < s->nvfs; i++) {
        argv[n++] = NUM(s->virtiofsd[i].pid);
        argv[n++] = s->virtiofsd[i].log;
    }
#undef NUM
    argv[n++] = "--";
    for (int i = 0; s->qemu_argv[i]; i++)
        argv[n++] = s->qemu_argv[i];
    argv[n] = NULL;
    char self[PATH_MAX];
    ssize_t len = readlink("/proc/self/exe", self, sizeof(self) - 1);
    keep_over_exec(s, 0); /* our descriptors go over exec */
    if (len > 0) {        /* by its name, so that ps shows miura-oci */
        self[len] = '\0';
        execv(self, argv);
    }
    execv("/proc/self/exe", argv);
    keep_over_exec(s, FD_CLOEXEC);
    run(s);
}

void supervise(struct supervise_request *r)
{
    static struct sup s;
    sigset_t set;
    int console_fd;
    int container_err = fcntl(2, F_DUPFD_CLOEXEC, 3);

    s.state_dir = r->state_dir;
    s.run_dir = r->cfg.run_dir;
    s.base = r->base;
    s.cid = r->cfg.cid;
    s.cid_fd = r->cid_fd;
    s.id_fd = r->id_fd;
    s.id = (struct instance_id){r->cfg.uid, r->cfg.gid};
    s.lfd = -1;
    part_log(&s.qemu, "qemu", s.run_dir, "qemu.log");
    part_log(&s.vsockd, "miura-vsockd", s.run_dir, "vsockd.log");
    dup2(r->status_fd, 2); /* set-up messages go to `create` */
    setsid();
    prctl(PR_SET_CHILD_SUBREAPER, 1); /* what the parts fork comes back to us */
    signal(SIGPIPE, SIG_IGN);
    sigemptyset(&set);
    for (int sig = 1; sig < SIGRTMIN; sig++)
        if (sig != SIGKILL && sig != SIGSTOP && sig != SIGPIPE && sig != SIGSEGV && sig != SIGBUS &&
            sig != SIGFPE && sig != SIGILL && sig != SIGABRT && sig != SIGTRAP && sig != SIGSYS)
            sigaddset(&set, sig); /* stop signals and SIGCHLD are read; the rest ignored */
    sigprocmask(SIG_BLOCK, &set, NULL);
    s.sfd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
    if (s.sfd < 0) {
        fprintf(stderr, PROG ": signalfd: %s\n", strerror(errno));
        finish(&s, VM_EXIT_FAILED);
    }
    /* Nothing of the engine's (nor the status pipe) reaches the parts but
     * stdin, stdout and stderr. */
    close_range(3, ~0u, CLOSE_RANGE_CLOEXEC);

    enter_container(&s, r, &console_fd);
    start_daemons(&s, &r->cfg);
    s.lfd = listen_start(s.run_dir);
    if (s.lfd < 0) {
        fprintf(stderr, PROG ": %s/start.sock: %s\n", s.run_dir, strerror(errno));
        finish(&s, VM_EXIT_FAILED);
    }
    fprintf(stderr, "@ok\n");
    if (console_fd >= 0) {
        dup2(console_fd, 0);
        dup2(console_fd, 1);
        dup2(console_fd, 2);
        close(console_fd);
    } else {
        dup2(container_err, 2);
    }
    close(container_err);
    close(r->status_fd);
    hand_over(&s);
}

/* Parses a decimal argument of our own hand-over; -1 if it is not one. */
static long long number(const char *s)
{
    char *end;
    long long v = strtoll(s, &end, 10);
    return *s && !*end && v >= 0 ? v : -1;
}

/* The identity's part of the hand-over: ID_FD, "AS_USER:UID:GID:HAS_EXTRA:
 * EXTRA_GID:NEW_NET:OWN_VIEW:VIEW_KVM" and QEMU's descriptors ("-" or
 * "FD,FD,..."). QEMU's view is mounted on the run directory. */
static int parse_identity(struct sup *s, const char *id_fd, const char *confine, const char *fds)
{
    struct vm_confine *c = &s->confine;
    int as_user, has_extra, new_net, own_view, view_kvm, used = 0;
    char *end;
    long v = strtol(id_fd, &end, 10);
    if (!*id_fd || *end || v < -1 || v > INT_MAX)
        return -1;
    s->id_fd = (int)v;
    if (sscanf(confine, "%d:%u:%u:%d:%u:%d:%d:%d%n", &as_user, &c->uid, &c->gid, &has_extra,
               &c->extra_gid, &new_net, &own_view, &view_kvm, &used) != 8 ||
        confine[used])
        return -1;
    c->as_user = as_user;
    c->has_extra = has_extra;
    c->new_net = new_net;
    c->own_view = own_view;
    c->view_kvm = view_kvm;
    c->view_at = s->run_dir;
    s->id = (struct instance_id){c->uid, c->gid};
    for (const char *p = fds; strcmp(fds, "-") != 0 && *p; p = *end ? end + 1 : end) {
        v = strtol(p, &end, 10);
        if (end == p || v < 3 || v > INT_MAX || (*end && *end != ',') ||
            s->nqemu_fd == IDENTITY_QEMU_FDS_MAX)
            return -1;
        s->qemu_fd[s->nqemu_fd++] = (int)v;
    }
    return 0;
}

int supervise_main(int argc, char **argv)
{
    static struct sup s;
    int i = 12, dash;
    if (argc < 15)
        goto bad;
    s.state_dir = argv[2];
    s.run_dir = argv[3];
    s.base = argv[4];
    long long cid = number(argv[5]), cid_fd = number(argv[6]), lfd = number(argv[7]),
              vsd = number(argv[8]);
    if (cid < 0 || cid > UINT32_MAX || cid_fd < 0 || cid_fd > INT_MAX || lfd < 0 || lfd > INT_MAX ||
        vsd <= 0 || vsd > INT_MAX)
        goto bad;
    s.cid = (uint32_t)cid;
    s.cid_fd = (int)cid_fd;
    s.lfd = (int)lfd;
    s.sfd = -1;
    if (parse_identity(&s, argv[9], argv[10], argv[11]) < 0)
        goto bad;
    keep_over_exec(&s, FD_CLOEXEC);
    part_log(&s.qemu, "qemu", s.run_dir, "qemu.log");
    part_log(&s.vsockd, "miura-vsockd", s.run_dir, "vsockd.log");
    s.vsockd.pid = (pid_t)vsd;
    s.vsockd.started = true;
    for (dash = i; dash < argc && strcmp(argv[dash], "--") != 0; dash++)
        ;
    if (dash == argc || dash + 1 >= argc || (dash - i) % 2 || (dash - i) / 2 > NVFS_MAX ||
        dash == i)
        goto bad;
    for (; i < dash; i += 2) {
        struct vm_part *p = &s.virtiofsd[s.nvfs++];
        long long pid = number(argv[i]);
        if (pid <= 0 || pid > INT_MAX)
            goto bad;
        p->what = "virtiofsd";
        p->pid = (pid_t)pid;
        p->started = true;
        snprintf(p->log, sizeof(p->log), "%s", argv[i + 1]);
    }
    s.qemu_argv = argv + dash + 1;
    run(&s);
bad:
    fprintf(stderr, PROG ": __supervise is miura-oci's own hand-over, not a command\n");
    return 2;
}
