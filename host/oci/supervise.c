/* SPDX-License-Identifier: BSD-2-Clause */
/* The container's supervisor; see supervise.h. */
#include "oci/supervise.h"

#include <errno.h>
#include <fcntl.h>
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
#include "common/vm_parts.h"
#include "oci/cgroup.h"
#include "oci/enter.h"

#define PROG "miura-oci"

struct sup {
    struct supervise_request *r;
    struct vm_part qemu, vsockd, virtiofsd[1 + PLAN_EXTRA_SHARES_MAX];
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
    struct vm_part *parts[2 + PLAN_EXTRA_SHARES_MAX];
    int n = daemons(s, parts);
    parts[n++] = &s->qemu;
    vm_reap(parts, n);
}

static bool any_ended(struct sup *s)
{
    struct vm_part *d[1 + 1 + PLAN_EXTRA_SHARES_MAX];
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
    struct vm_part *d[1 + PLAN_EXTRA_SHARES_MAX];
    int n = daemons(s, d);
    vm_stop(&s->qemu, d, n);
    rundir_remove(s->r->cfg.run_dir);
    cid_unlock(s->r->base, s->r->cfg.cid, s->r->cid_fd);
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

/* Set-up until "created": every failure ends here with its cause on the status pipe. */
static void start_daemons(struct sup *s)
{
    const struct launch_config *c = &s->r->cfg;
    struct argv_list vfs[1 + PLAN_EXTRA_SHARES_MAX], vsd, qemu;
    const char *err;
    char path[4096];
    const unsigned flags = VM_SPAWN_OWN_GROUP | VM_SPAWN_QUIET_STDIN | VM_SPAWN_STDOUT_TO_LOG;
    if (plan_build(c, &vfs[0], &vsd, &qemu, &err) < 0) {
        fprintf(stderr, PROG ": %s\n", err);
        finish(s, VM_EXIT_FAILED);
    }
    plan_free(&qemu);
    s->nvfs = 1 + c->nextra;
    for (unsigned i = 0; i < c->nextra; i++) {
        if (plan_build_extra(c, i, &vfs[1 + i], &err) < 0) {
            fprintf(stderr, PROG ": %s\n", err);
            finish(s, VM_EXIT_FAILED);
        }
    }
    for (unsigned i = 0; i < s->nvfs; i++) {
        s->virtiofsd[i].what = "virtiofsd";
        snprintf(path, sizeof(path), "virtiofsd%s%s.log", i ? "-" : "",
                 i ? c->extra[i - 1].tag : "");
        plan_path(c, path, s->virtiofsd[i].log, sizeof(s->virtiofsd[i].log));
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
            plan_path(c, "fs.sock", path, sizeof(path));
        else
            snprintf(path, sizeof(path), "%s/fs-%s.sock", c->run_dir, c->extra[i - 1].tag);
        if (vm_wait_socket(&s->virtiofsd[i], path, interrupted, s, PROG) < 0)
            finish(s, s->signal_seen ? 128 + s->signal_seen : VM_EXIT_FAILED);
    }
    static const char *const vsockd_files[] = {"vhost.sock", "vsock.sock"};
    for (int i = 0; i < 2; i++) {
        plan_path(c, vsockd_files[i], path, sizeof(path));
        if (vm_wait_socket(&s->vsockd, path, interrupted, s, PROG) < 0)
            finish(s, s->signal_seen ? 128 + s->signal_seen : VM_EXIT_FAILED);
    }
}

/* `start`: QEMU, the started mark, the answer. false if QEMU could not run. */
static bool boot(struct sup *s, int conn)
{
    struct argv_list vfs, vsd, qemu;
    const char *err;
    char path[4096], reply[600];
    bool ok = false;
    if (plan_build(&s->r->cfg, &vfs, &vsd, &qemu, &err) < 0) {
        snprintf(reply, sizeof(reply), "error: %s\n", err);
    } else {
        plan_free(&vfs);
        plan_free(&vsd);
        /* The console is our stdout: the container's (or its terminal). */
        if (vm_spawn(&s->qemu, qemu.argv, VM_SPAWN_QUIET_STDIN) < 0) {
            snprintf(reply, sizeof(reply), "error: cannot run %s: %s\n", qemu.argv[0],
                     strerror(errno));
        } else {
            int fd;
            snprintf(path, sizeof(path), "%s/started", s->r->state_dir);
            fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
            if (fd >= 0)
                close(fd);
            snprintf(reply, sizeof(reply), "ok\n");
            ok = true;
        }
        plan_free(&qemu);
    }
    if (!ok)
        fprintf(stderr, PROG ": %s", reply + strlen("error: "));
    if (write(conn, reply, strlen(reply)) < 0) {
        /* `start` went away: the outcome stands */
    }
    close(conn);
    return ok;
}

/* Created: wait for `start`, a stop signal, or a daemon's end. */
static void wait_for_start(struct sup *s, int lfd)
{
    for (;;) {
        struct pollfd p[2] = {{.fd = s->sfd, .events = POLLIN}, {.fd = lfd, .events = POLLIN}};
        if (poll(p, 2, -1) < 0 && errno != EINTR)
            finish(s, VM_EXIT_FAILED);
        if (read_signals(s))
            finish(s, 128 + s->signal_seen);
        if (any_ended(s)) {
            struct vm_part *d[1 + PLAN_EXTRA_SHARES_MAX];
            int n = daemons(s, d);
            finish(s, vm_exit_status(&s->qemu, d, n, PROG));
        }
        if (p[1].revents & POLLIN) {
            int conn = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
            if (conn < 0)
                continue;
            close(lfd); /* one start only: a second one finds no socket */
            if (!boot(s, conn))
                finish(s, VM_EXIT_FAILED);
            return;
        }
    }
}

/* Running: until the guest or a part ends, or a stop signal. */
static void __attribute__((noreturn)) run(struct sup *s)
{
    struct vm_part *d[1 + PLAN_EXTRA_SHARES_MAX];
    int n = daemons(s, d);
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

/* Takes on the container's cgroup, network namespace, limits and terminal. */
static void enter_container(struct sup *s, int *console_fd)
{
    static struct cgroup_set set;
    char cannot[1024], err[512];
    cgroup_enter(s->r->spec, getpid(), &set, cannot, sizeof(cannot));
    for (unsigned i = 0; i < set.n; i++)
        fprintf(stderr, "@cgroup %s\n", set.dir[i]);
    if (cannot[0])
        fprintf(stderr, PROG ": cgroup: not applied: %s\n", cannot);
    if (enter_netns(s->r->spec, err, sizeof(err)) < 0) {
        fprintf(stderr, PROG ": %s\n", err);
        finish(s, VM_EXIT_FAILED);
    }
    cannot[0] = '\0';
    enter_rlimits(s->r->spec, cannot, sizeof(cannot));
    if (cannot[0])
        fprintf(stderr, PROG ": rlimits: %s\n", cannot);
    *console_fd = -1;
    if (s->r->spec->terminal) {
        *console_fd = enter_console(s->r->console_socket, err, sizeof(err));
        if (*console_fd < 0) {
            fprintf(stderr, PROG ": %s\n", err);
            finish(s, VM_EXIT_FAILED);
        }
    }
}

void supervise(struct supervise_request *r)
{
    static struct sup s;
    sigset_t set;
    int console_fd, lfd;
    int container_err = fcntl(2, F_DUPFD_CLOEXEC, 3);

    s.r = r;
    s.qemu = (struct vm_part){.what = "qemu"};
    s.vsockd = (struct vm_part){.what = "miura-vsockd"};
    plan_path(&r->cfg, "qemu.log", s.qemu.log, sizeof(s.qemu.log));
    plan_path(&r->cfg, "vsockd.log", s.vsockd.log, sizeof(s.vsockd.log));
    dup2(r->status_fd, 2); /* set-up messages go to `create` */
    setsid();
    prctl(PR_SET_CHILD_SUBREAPER, 1); /* what the parts fork comes back to us */
    signal(SIGPIPE, SIG_IGN);
    sigemptyset(&set);
    for (int sig = 1; sig < NSIG; sig++)
        if (sig != SIGKILL && sig != SIGSTOP && sig != SIGPIPE && sig != SIGSEGV && sig != SIGBUS &&
            sig != SIGFPE && sig != SIGILL && sig != SIGABRT && sig != SIGTRAP && sig != SIGSYS &&
            sig < SIGRTMIN)
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

    enter_container(&s, &console_fd);
    start_daemons(&s);
    lfd = listen_start(r->cfg.run_dir);
    if (lfd < 0) {
        fprintf(stderr, PROG ": %s/start.sock: %s\n", r->cfg.run_dir, strerror(errno));
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

    wait_for_start(&s, lfd);
    run(&s);
}
