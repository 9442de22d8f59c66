/* SPDX-License-Identifier: BSD-2-Clause */
/* The processes of an instance; see vm_parts.h. */
#include "common/vm_parts.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "common/clock.h"
#include "common/vm_args.h"

void vm_sleep_ms(int ms)
{
    struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000};
    nanosleep(&ts, NULL);
}

void vm_last_log_line(const char *path, char *out, size_t len)
{
    char line[512];
    FILE *f = fopen(path, "re");
    out[0] = '\0';
    if (!f)
        return;
    while (fgets(line, sizeof(line), f)) {
        line[strcspn(line, "\r\n")] = '\0';
        if (line[0])
            snprintf(out, len, "%s", line);
    }
    fclose(f);
}

/*
 * What QEMU said on stderr: its first error line (not a warning), and the
 * signal of a "terminating on signal N" line.
 */
static void scan_qemu_log(const char *path, char *err, size_t len, int *sig)
{
    char line[512];
    FILE *f = fopen(path, "re");
    err[0] = '\0';
    *sig = 0;
    if (!f)
        return;
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
    int ep[2], e;
    pid_t parent = getpid(), pid;
    int logfd = open(p->log, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (logfd < 0)
        return -1;
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
        if (flags & VM_SPAWN_STDOUT_TO_LOG)
            dup2(logfd, 1);
        dup2(logfd, 2);
        execv(argv[0], argv);
        e = errno;
        if (write(ep[1], &e, sizeof(e)) < 0)
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
    return 0;
}

int vm_wait_socket(struct vm_part *p, const char *path, bool (*interrupted)(void *ctx), void *ctx,
                   const char *prog)
{
    uint64_t deadline = monotonic_ms() + VM_SOCKET_WAIT_MS;
    for (;;) {
        struct stat st;
        char line[512];
        if (stat(path, &st) == 0 && S_ISSOCK(st.st_mode))
            return 0;
        if (interrupted(ctx))
            return -1;
        if (p->exited) {
            vm_last_log_line(p->log, line, sizeof(line));
            fprintf(stderr, "%s: %s exited at start (status %d): %s\n", prog, p->what,
                    WIFEXITED(p->wstatus) ? WEXITSTATUS(p->wstatus) : 128 + WTERMSIG(p->wstatus),
                    line[0] ? line : "no output");
            return -1;
        }
        if (monotonic_ms() > deadline) {
            vm_last_log_line(p->log, line, sizeof(line));
            fprintf(stderr, "%s: %s did not create %s within %d s%s%s\n", prog, p->what, path,
                    VM_SOCKET_WAIT_MS / 1000, line[0] ? ": " : "", line);
            return -1;
        }
        vm_sleep_ms(1); /* a daemon's socket appears within milliseconds */
    }
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
    char err[512], line[512];
    int logged_sig, code;
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
        scan_qemu_log(qemu->log, err, sizeof(err), &logged_sig);
        switch (decode_qemu_exit(qemu->wstatus, err[0] != '\0', logged_sig, &code)) {
        case QEMU_END_GUEST:
            return code;
        case QEMU_END_SIGNAL:
            fprintf(stderr, "%s: qemu was killed by signal %d (%s)\n", prog, code - 128,
                    strsignal(code - 128));
            return code;
        case QEMU_END_RESET:
            fprintf(stderr, "%s: the guest reset without an exit status (triple fault?)\n", prog);
            return VM_EXIT_FAILED;
        case QEMU_END_ERROR:
            fprintf(stderr, "%s: qemu failed (exit %d): %s\n", prog, code,
                    err[0] ? err : "no error message");
            return VM_EXIT_FAILED;
        }
    }
    if (!p)
        return VM_EXIT_FAILED; /* not reached: called once a part ended */
    vm_last_log_line(p->log, line, sizeof(line));
    if (WIFSIGNALED(p->wstatus))
        fprintf(stderr, "%s: %s was killed by signal %d%s%s\n", prog, p->what, WTERMSIG(p->wstatus),
                line[0] ? ": " : "", line);
    else
        fprintf(stderr, "%s: %s exited unexpectedly (status %d)%s%s\n", prog, p->what,
                WEXITSTATUS(p->wstatus), line[0] ? ": " : "", line);
    return VM_EXIT_FAILED;
}
