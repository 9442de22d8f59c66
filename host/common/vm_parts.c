/* SPDX-License-Identifier: BSD-2-Clause */
/* The processes of an instance; see vm_parts.h. */
#include "common/vm_parts.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "common/cgroup.h"
#include "common/clock.h"
#include "common/vm_args.h"
#include "common/vm_view.h"

void vm_sleep_ms(int ms)
{
    struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000};
    nanosleep(&ts, NULL);
}

void vm_scan_log(const char *path, off_t from, char *last, size_t last_len,
                 const char *const *prefixes, char *first, size_t first_len)
{
    char line[512];
    FILE *f = fopen(path, "re");
    if (last)
        last[0] = '\0';
    if (first)
        first[0] = '\0';
    if (!f)
        return;
    if (from > 0)
        fseeko(f, from, SEEK_SET);
    while (fgets(line, sizeof(line), f)) {
        line[strcspn(line, "\r\n")] = '\0';
        if (last && line[0])
            snprintf(last, last_len, "%s", line);
        for (int i = 0; first && !first[0] && prefixes && prefixes[i]; i++)
            if (strncmp(line, prefixes[i], strlen(prefixes[i])) == 0)
                snprintf(first, first_len, "%s", line);
    }
    fclose(f);
}

/* The last non-empty line from offset `from` on. */
static void last_line_from(const char *path, off_t from, char *out, size_t len)
{
    vm_scan_log(path, from, out, len, NULL, NULL, 0);
}

void vm_last_log_line(const char *path, char *out, size_t len)
{
    last_line_from(path, 0, out, len);
}

/*
 * What QEMU said on stderr in this run: its first error line (not a
 * warning), and the signal of a "terminating on signal N" line.
 */
static void scan_qemu_log(const struct vm_part *q, char *err, size_t len, int *sig)
{
    char line[512];
    FILE *f = fopen(q->log, "re");
    err[0] = '\0';
    *sig = 0;
    if (!f)
        return;
    if (q->log_start > 0)
        fseeko(f, q->log_start, SEEK_SET);
    while (fgets(line, sizeof(line), f)) {
        const char *t = strstr(line, "terminating on signal ");
        line[strcspn(line, "\r\n")] = '\0';
        if (t) {
            *sig = atoi(t + strlen("terminating on signal "));
            continue;
        }
        if (!err[0] && line[0] && !strstr(line, "warning"))
            snprintf(err, len, "%s", line);
    }
    fclose(f);
}

void vm_reap(struct vm_part *const *parts, int n)
{
    /* By pid: a part not listed keeps its status for a later call. (Orphans
     * that come to us as subreaper stay zombies until vm_sweep_descendants.) */
    for (int i = 0; i < n; i++) {
        int st;
        if (parts[i]->pid > 0 && waitpid(parts[i]->pid, &st, WNOHANG) == parts[i]->pid) {
            parts[i]->pid = 0;
            parts[i]->exited = true;
            parts[i]->wstatus = st;
        }
    }
}

int vm_spawn(struct vm_part *p, char *const argv[], unsigned flags)
{
    return vm_spawn_io(p, argv, flags, NULL);
}

/* In the child: io's descriptors to pass become 3, 4, ... (through numbers
 * above them all, so that no move overwrites a source still to be moved). */
static int child_pass_fds(const struct vm_spawn_io *io)
{
    int tmp[VM_PASS_FDS_MAX];
    if (io->npass > VM_PASS_FDS_MAX)
        return -1;
    for (unsigned i = 0; i < io->npass; i++)
        if ((tmp[i] = fcntl(io->pass_fds[i], F_DUPFD_CLOEXEC, 3 + VM_PASS_FDS_MAX)) < 0)
            return -1;
    for (unsigned i = 0; i < io->npass; i++)
        if (dup2(tmp[i], 3 + (int)i) < 0) /* dup2 clears close-on-exec: inherited */
            return -1;
    return 0;
}

/* In the child: struct vm_confine's steps; 0, or -1 with errno. */
static int child_confine(const struct vm_confine *c, const char *program)
{
    struct rlimit none = {0, 0};
    if (c->own_view && vm_view_enter(c->view_at, program, c->view_kvm) < 0)
        return -1;
    if (c->new_net && unshare(CLONE_NEWNET | CLONE_NEWIPC) < 0)
        return -1;
    if (c->as_user) {
        /* An empty bounding set: nothing it execs can gain a capability back. */
        for (int cap = 0; cap <= 63; cap++)
            if (prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) < 0 && errno != EINVAL)
                return -1;
        gid_t extra = (gid_t)c->extra_gid;
        if (setgroups(c->has_extra ? 1 : 0, &extra) < 0 ||
            setresgid((gid_t)c->gid, (gid_t)c->gid, (gid_t)c->gid) < 0 ||
            setresuid((uid_t)c->uid, (uid_t)c->uid, (uid_t)c->uid) < 0)
            return -1;
        /* A change of credentials clears the parent-death signal: set it again. */
        if (prctl(PR_SET_PDEATHSIG, SIGTERM) < 0)
            return -1;
    }
    if (setrlimit(RLIMIT_CORE, &none) < 0 || prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
        return -1;
    return 0;
}

int vm_spawn_io(struct vm_part *p, char *const argv[], unsigned flags, const struct vm_spawn_io *io)
{
    int ep[2], e;
    pid_t parent = getpid(), pid;
    int logfd = open(
        p->log, O_WRONLY | O_CREAT | O_CLOEXEC | (flags & VM_SPAWN_APPEND_LOG ? O_APPEND : O_TRUNC),
        0600);
    if (logfd < 0)
        return -1;
    p->log_start = lseek(logfd, 0, SEEK_END);
    if (pipe2(ep, O_CLOEXEC) < 0) {
        close(logfd);
        return -1;
    }
    pid = fork();
    if (pid < 0) {
        e = errno;
        close(logfd);
        close(ep[0]);
        close(ep[1]);
        errno = e;
        return -1;
    }
    if (pid == 0) {
        sigset_t none;
        /* Above the descriptors to pass: their moves must not close these. */
        int err_fd = fcntl(ep[1], F_DUPFD_CLOEXEC, 3 + VM_PASS_FDS_MAX);
        int log_fd = fcntl(logfd, F_DUPFD_CLOEXEC, 3 + VM_PASS_FDS_MAX);
        if (flags & VM_SPAWN_OWN_GROUP)
            setpgid(0, 0);
        prctl(PR_SET_PDEATHSIG, SIGTERM);
        if (getppid() != parent)
            _exit(127); /* the parent died before prctl */
        signal(SIGPIPE, SIG_DFL);
        sigemptyset(&none);
        sigprocmask(SIG_SETMASK, &none, NULL);
        if (flags & VM_SPAWN_QUIET_STDIN) {
            int nul = open("/dev/null", O_RDONLY);
            if (nul >= 0)
                dup2(nul, 0);
        }
        if (io && io->stdout_fd >= 0)
            dup2(io->stdout_fd, 1);
        else if (flags & VM_SPAWN_STDOUT_TO_LOG)
            dup2(log_fd, 1);
        dup2(log_fd, 2);
        if (!io || (cgroup_join_self(io->cgroup_fds, io->ncgroup) == 0 && child_pass_fds(io) == 0 &&
                    (!io->confine || child_confine(io->confine, argv[0]) == 0)))
            if (getppid() == parent) /* (the parent may have died before the second prctl) */
                execv(argv[0], argv);
        e = errno;
        if (write(err_fd, &e, sizeof(e)) < 0)
            _exit(127);
        _exit(127);
    }
    close(logfd);
    close(ep[1]);
    ssize_t n = read(ep[0], &e, sizeof(e));
    close(ep[0]);
    if (n == (ssize_t)sizeof(e)) {
        waitpid(pid, NULL, 0);
        errno = e;
        return -1;
    }
    p->pid = pid;
    p->started = true;
    p->exited = false;
    return 0;
}

int vm_wait_socket_why(struct vm_part *p, const char *path, bool (*interrupted)(void *ctx),
                       void *ctx, char *why, size_t len)
{
    uint64_t deadline = monotonic_ms() + VM_SOCKET_WAIT_MS;
    why[0] = '\0';
    for (;;) {
        struct stat st;
        char line[512];
        if (stat(path, &st) == 0 && S_ISSOCK(st.st_mode))
            return 0;
        if (interrupted(ctx))
            return -1;
        if (p->exited) {
            last_line_from(p->log, p->log_start, line, sizeof(line));
            snprintf(why, len, "%s exited at start (status %d): %s", p->what,
                     WIFEXITED(p->wstatus) ? WEXITSTATUS(p->wstatus) : 128 + WTERMSIG(p->wstatus),
                     line[0] ? line : "no output");
            return -1;
        }
        if (monotonic_ms() > deadline) {
            last_line_from(p->log, p->log_start, line, sizeof(line));
            snprintf(why, len, "%s did not create %s within %d s%s%s", p->what, path,
                     VM_SOCKET_WAIT_MS / 1000, line[0] ? ": " : "", line);
            return -1;
        }
        vm_sleep_ms(1); /* a daemon's socket appears within milliseconds */
    }
}

int vm_wait_socket(struct vm_part *p, const char *path, bool (*interrupted)(void *ctx), void *ctx,
                   const char *prog)
{
    char why[1024];
    int rc = vm_wait_socket_why(p, path, interrupted, ctx, why, sizeof(why));
    if (rc < 0 && why[0])
        fprintf(stderr, "%s: %s\n", prog, why);
    return rc;
}

void vm_signal(struct vm_part *p, int sig)
{
    if (p->pid > 0)
        kill(p->pid, sig);
}

bool vm_wait_parts(struct vm_part *const *parts, int n, int ms)
{
    uint64_t deadline = monotonic_ms() + (uint64_t)ms;
    for (;;) {
        bool all = true;
        vm_reap(parts, n);
        for (int i = 0; i < n; i++)
            all = all && parts[i]->pid == 0;
        if (all)
            return true;
        if (monotonic_ms() > deadline)
            return false;
        vm_sleep_ms(10);
    }
}

void vm_sweep_descendants(void)
{
    char path[64], buf[512];
    pid_t self = getpid();
    for (int round = 0; round < 50; round++) {
        bool left = false;
        DIR *d = opendir("/proc");
        struct dirent *e;
        while (d && (e = readdir(d)) != NULL) {
            int pid = atoi(e->d_name), ppid;
            FILE *f;
            if (pid <= 0)
                continue;
            snprintf(path, sizeof(path), "/proc/%d/stat", pid);
            f = fopen(path, "re");
            if (!f)
                continue;
            size_t n = fread(buf, 1, sizeof(buf) - 1, f);
            fclose(f);
            buf[n] = '\0';
            const char *cp = strrchr(buf, ')');
            if (cp && sscanf(cp + 1, " %*c %d", &ppid) == 1 && ppid == self) {
                kill(pid, SIGKILL);
                left = true;
            }
        }
        if (d)
            closedir(d);
        while (waitpid(-1, NULL, WNOHANG) > 0)
            ;
        if (!left)
            return;
        vm_sleep_ms(10);
    }
}

void vm_stop(struct vm_part *qemu, struct vm_part *const *daemons, int n)
{
    struct vm_part *q[] = {qemu};
    vm_signal(qemu, SIGTERM);
    if (!vm_wait_parts(q, 1, VM_GRACE_MS))
        vm_signal(qemu, SIGKILL);
    for (int i = 0; i < n; i++)
        vm_signal(daemons[i], SIGTERM);
    if (!vm_wait_parts(daemons, n, VM_GRACE_MS))
        for (int i = 0; i < n; i++)
            vm_signal(daemons[i], SIGKILL);
    for (int i = -1; i < n; i++) {
        struct vm_part *p = i < 0 ? qemu : daemons[i];
        if (p->pid > 0) {
            waitpid(p->pid, &p->wstatus, 0);
            p->pid = 0;
        }
    }
    vm_sweep_descendants();
}

int vm_exit_status(struct vm_part *qemu, struct vm_part *const *daemons, int n, const char *prog)
{
    char cause[1024];
    bool guest_end;
    int status = vm_exit_cause(qemu, daemons, n, cause, sizeof(cause), &guest_end);
    if (!guest_end)
        fprintf(stderr, "%s: %s\n", prog, cause);
    return status;
}

int vm_exit_cause(struct vm_part *qemu, struct vm_part *const *daemons, int n, char *cause,
                  size_t len, bool *guest_end)
{
    char err[512], line[512];
    int logged_sig, code;
    *guest_end = false;
    struct vm_part *p = NULL;
    for (int i = 0; i < n && !p; i++)
        if (daemons[i]->exited)
            p = daemons[i];
    if (!qemu->exited && p) {
        /* virtiofsd ends by itself when QEMU closes its socket: let QEMU's exit land first. */
        struct vm_part *q[] = {qemu};
        vm_wait_parts(q, 1, VM_DAEMON_AFTER_QEMU_MS);
    }
    if (qemu->exited) {
        scan_qemu_log(qemu, err, sizeof(err), &logged_sig);
        switch (decode_qemu_exit(qemu->wstatus, err[0] != '\0', logged_sig, &code)) {
        case QEMU_END_GUEST:
            snprintf(cause, len, "guest exited with status %d", code);
            *guest_end = true;
            return code;
        case QEMU_END_SIGNAL:
            snprintf(cause, len, "qemu was killed by signal %d (%s)", code - 128,
                     strsignal(code - 128));
            return code;
        case QEMU_END_RESET:
            snprintf(cause, len, "the guest reset without an exit status (triple fault?)");
            return VM_EXIT_FAILED;
        case QEMU_END_ERROR:
            /* A daemon that failed first is why QEMU's vhost-user connection
             * ended (virtiofsd exits 0 when QEMU goes: then QEMU is the cause). */
            if (p && (WIFSIGNALED(p->wstatus) || WEXITSTATUS(p->wstatus) != 0))
                break;
            snprintf(cause, len, "qemu failed (exit %d): %s", code,
                     err[0] ? err : "no error message");
            return VM_EXIT_FAILED;
        }
    }
    if (!p) { /* not reached: called once a part ended */
        snprintf(cause, len, "no part ended");
        return VM_EXIT_FAILED;
    }
    last_line_from(p->log, p->log_start, line, sizeof(line));
    if (WIFSIGNALED(p->wstatus))
        snprintf(cause, len, "%s was killed by signal %d%s%s", p->what, WTERMSIG(p->wstatus),
                 line[0] ? ": " : "", line);
    else
        snprintf(cause, len, "%s exited unexpectedly (status %d)%s%s", p->what,
                 WEXITSTATUS(p->wstatus), line[0] ? ": " : "", line);
    return VM_EXIT_FAILED;
}
