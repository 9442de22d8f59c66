/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Supervising one instance; see run.h.
 *
 * Order of events:
 *   1. virtiofsd (with --share), then miura-vsockd; each must create its
 *      socket within SOCKET_WAIT_MS or the start fails with its last log line.
 *   2. QEMU, console on our stdout (or console.log when detached).
 *   3. Each published port is probed with a real HTTP request until it
 *      answers ("serving http://ADDR:PORT") or ready_timeout_s passes; the
 *      tries start 10 ms apart and back off to 250 ms.
 *   4. The first of: QEMU exits, a daemon exits, SIGINT/SIGTERM/SIGHUP.
 *   5. Teardown: SIGTERM to QEMU, then to the daemons, SIGKILL after
 *      GRACE_MS; every child reaped; run directory and CID lock removed.
 *
 * Signals are blocked and read from a signalfd, so nothing runs in a signal
 * handler. Children get PR_SET_PDEATHSIG, so even a SIGKILLed launcher leaves
 * no process behind. The daemons run in their own process group so that a
 * terminal's Ctrl-C reaches QEMU and us, and we stop the daemons in order.
 */
#include "launcher/run.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "common/clock.h"
#include "launcher/cidlock.h"
#include "launcher/instance.h"
#include "launcher/probe.h"

#define SOCKET_WAIT_MS          5000
#define GRACE_MS                3000
#define DAEMON_AFTER_QEMU_MS    1000 /* a daemon's end may be QEMU's exit in progress */
#define PROBE_INTERVAL_FIRST_MS 5    /* for the first second, then doubling up to ..._MAX_MS: */
#define PROBE_FAST_MS           1000 /* an appliance that starts in ms is seen in ms */
#define PROBE_INTERVAL_MAX_MS   250
#define PROBE_TIMEOUT_MS        2000
#define DETACH_SETTLE_MS        500

struct part {
    const char *what;
    pid_t pid; /* 0: not running (never started, or reaped) */
    bool started;
    bool exited;
    int wstatus;
    char log[4096];
};

struct run_state {
    struct run_request *req;
    struct part qemu, vsockd, virtiofsd;
    int sfd;
    int signal_seen; /* SIGINT/SIGTERM/SIGHUP that stopped us, 0 if none */
};

/* Signed, for deadline arithmetic. */
static int64_t now_ms(void)
{
    return (int64_t)monotonic_ms();
}

static void sleep_ms(int ms)
{
    struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000};
    nanosleep(&ts, NULL);
}

/* The last non-empty line of a log (for a one-line cause), or "" */
static void last_log_line(const char *path, char *out, size_t len)
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

static void reap(struct run_state *s)
{
    struct part *parts[] = {&s->qemu, &s->vsockd, &s->virtiofsd};
    int st;
    pid_t pid;
    while ((pid = waitpid(-1, &st, WNOHANG)) > 0) {
        for (size_t i = 0; i < sizeof(parts) / sizeof(parts[0]); i++) {
            if (parts[i]->pid == pid) {
                parts[i]->pid = 0;
                parts[i]->exited = true;
                parts[i]->wstatus = st;
            }
        }
    }
}

/* Reads pending signals; returns true if one asks us to stop. */
static bool read_signals(struct run_state *s)
{
    struct signalfd_siginfo si;
    while (read(s->sfd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
        if (si.ssi_signo == SIGCHLD)
            reap(s);
        else if (!s->signal_seen)
            s->signal_seen = (int)si.ssi_signo;
    }
    reap(s); /* SIGCHLDs coalesce: always look */
    return s->signal_seen != 0;
}

/*
 * Starts a part: stderr to its log, stdout too when stdout_to_log (QEMU in
 * the foreground keeps ours: that is the console), stdin from /dev/null when
 * quiet_stdin, in its own process group when own_group. An exec failure
 * comes back through a close-on-exec pipe, so it is reported here.
 */
static int spawn(struct part *p, struct argv_list *a, bool own_group, bool quiet_stdin,
                 bool stdout_to_log)
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
        if (own_group)
            setpgid(0, 0);
        prctl(PR_SET_PDEATHSIG, SIGTERM);
        if (getppid() != parent)
            _exit(127); /* the launcher died before prctl */
        signal(SIGPIPE, SIG_DFL);
        sigemptyset(&none);
        sigprocmask(SIG_SETMASK, &none, NULL);
        if (quiet_stdin) {
            int nul = open("/dev/null", O_RDONLY);
            if (nul >= 0)
                dup2(nul, 0);
        }
        if (stdout_to_log)
            dup2(logfd, 1);
        dup2(logfd, 2);
        execv(a->argv[0], a->argv);
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

/* Waits for a part's socket: 0 when it is there, -1 (cause printed) otherwise. */
static int wait_socket(struct run_state *s, struct part *p, const char *path)
{
    int64_t deadline = now_ms() + SOCKET_WAIT_MS;
    for (;;) {
        struct stat st;
        char line[512];
        if (stat(path, &st) == 0 && S_ISSOCK(st.st_mode))
            return 0;
        if (read_signals(s))
            return -1;
        if (p->exited) {
            last_log_line(p->log, line, sizeof(line));
            fprintf(stderr, "miura: %s exited at start (status %d): %s\n", p->what,
                    WIFEXITED(p->wstatus) ? WEXITSTATUS(p->wstatus) : 128 + WTERMSIG(p->wstatus),
                    line[0] ? line : "no output");
            return -1;
        }
        if (now_ms() > deadline) {
            last_log_line(p->log, line, sizeof(line));
            fprintf(stderr, "miura: %s did not create %s within %d s%s%s\n", p->what, path,
                    SOCKET_WAIT_MS / 1000, line[0] ? ": " : "", line);
            return -1;
        }
        sleep_ms(1); /* a daemon's socket appears within milliseconds */
    }
}

/* Sends sig to a running part. */
static void signal_part(struct part *p, int sig)
{
    if (p->pid > 0)
        kill(p->pid, sig);
}

/* Waits until every listed part has exited or the deadline passes. */
static bool wait_parts(struct run_state *s, struct part **parts, int n, int ms)
{
    int64_t deadline = now_ms() + ms;
    for (;;) {
        bool all = true;
        reap(s);
        for (int i = 0; i < n; i++)
            all = all && parts[i]->pid == 0;
        if (all)
            return true;
        if (now_ms() > deadline)
            return false;
        sleep_ms(10);
    }
}

/*
 * We are a child subreaper, so a part's own children (virtiofsd forks one)
 * come to us when their parent ends; kill and reap whatever is left.
 */
static void sweep_descendants(void)
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
        sleep_ms(10);
    }
}

/* Step 5: stop QEMU first (it is the daemons' client), then the daemons. */
static void teardown(struct run_state *s)
{
    struct part *q[] = {&s->qemu};
    struct part *d[] = {&s->vsockd, &s->virtiofsd};
    struct part *all[] = {&s->qemu, &s->vsockd, &s->virtiofsd};
    signal_part(&s->qemu, SIGTERM);
    if (!wait_parts(s, q, 1, GRACE_MS))
        signal_part(&s->qemu, SIGKILL);
    signal_part(&s->vsockd, SIGTERM);
    signal_part(&s->virtiofsd, SIGTERM);
    if (!wait_parts(s, d, 2, GRACE_MS)) {
        signal_part(&s->vsockd, SIGKILL);
        signal_part(&s->virtiofsd, SIGKILL);
    }
    for (int i = 0; i < 3; i++) {
        if (all[i]->pid > 0) {
            waitpid(all[i]->pid, &all[i]->wstatus, 0);
            all[i]->pid = 0;
        }
    }
    sweep_descendants();
    rundir_remove(s->req->run_dir);
    cid_unlock(s->req->base, s->req->cfg.cid, s->req->cid_fd);
    s->req->cid_fd = -1;
}

/* Which part ended first, and what miura's exit status is. */
static int decide_exit(struct run_state *s)
{
    char err[512], line[512];
    int logged_sig, code;
    if (s->signal_seen) {
        fprintf(stderr, "miura: %s: stopping on %s\n", s->req->cfg.name, strsignal(s->signal_seen));
        return 128 + s->signal_seen;
    }
    if (!s->qemu.exited && (s->vsockd.exited || s->virtiofsd.exited)) {
        /* virtiofsd ends by itself when QEMU closes its socket: let QEMU's exit land first. */
        struct part *q[] = {&s->qemu};
        wait_parts(s, q, 1, DAEMON_AFTER_QEMU_MS);
    }
    if (s->qemu.exited) {
        scan_qemu_log(s->qemu.log, err, sizeof(err), &logged_sig);
        switch (decode_qemu_exit(s->qemu.wstatus, err[0] != '\0', logged_sig, &code)) {
        case QEMU_END_GUEST:
            return code;
        case QEMU_END_SIGNAL:
            fprintf(stderr, "miura: qemu was killed by signal %d (%s)\n", code - 128,
                    strsignal(code - 128));
            return code;
        case QEMU_END_RESET:
            fprintf(stderr, "miura: the guest reset without an exit status (triple fault?)\n");
            return EXIT_LAUNCHER_FAILED;
        case QEMU_END_ERROR:
            fprintf(stderr, "miura: qemu failed (exit %d): %s\n", code,
                    err[0] ? err : "no error message");
            return EXIT_LAUNCHER_FAILED;
        }
    }
    struct part *p = s->vsockd.exited ? &s->vsockd : &s->virtiofsd;
    last_log_line(p->log, line, sizeof(line));
    if (WIFSIGNALED(p->wstatus))
        fprintf(stderr, "miura: %s was killed by signal %d%s%s\n", p->what, WTERMSIG(p->wstatus),
                line[0] ? ": " : "", line);
    else
        fprintf(stderr, "miura: %s exited unexpectedly (status %d)%s%s\n", p->what,
                WEXITSTATUS(p->wstatus), line[0] ? ": " : "", line);
    return EXIT_LAUNCHER_FAILED;
}

/* Readiness of published ports (step 3). */
struct probes {
    unsigned pending; /* ports neither ready nor given up */
    bool done[LAUNCHER_PUBLISH_MAX];
    enum probe_result last[LAUNCHER_PUBLISH_MAX];
    int64_t deadline;
    int64_t next, started;
    int interval_ms;
    unsigned served; /* ports that answered HTTP */
};

static void probe_round(struct run_state *s, struct probes *pr)
{
    const struct launch_config *c = &s->req->cfg;
    for (unsigned i = 0; i < c->npublish; i++) {
        if (pr->done[i])
            continue;
        int64_t left = pr->deadline - now_ms();
        int t = left < PROBE_TIMEOUT_MS ? (int)(left > 100 ? left : 100) : PROBE_TIMEOUT_MS;
        pr->last[i] = http_probe(c->publish[i].addr, c->publish[i].host_port, t);
        if (pr->last[i] == PROBE_READY) {
            printf("serving http://%s:%u\n", c->publish[i].addr, c->publish[i].host_port);
            fflush(stdout);
            pr->done[i] = true;
            pr->pending--;
            pr->served++;
        } else if (now_ms() >= pr->deadline) {
            fprintf(stderr, "miura: http://%s:%u did not answer HTTP within %d s (%s)\n",
                    c->publish[i].addr, c->publish[i].host_port, s->req->ready_timeout_s,
                    probe_result_name(pr->last[i]));
            pr->done[i] = true;
            pr->pending--;
        }
    }
    pr->next = now_ms() + pr->interval_ms;
    if (pr->interval_ms < PROBE_INTERVAL_MAX_MS && now_ms() - pr->started >= PROBE_FAST_MS)
        pr->interval_ms = pr->interval_ms * 2 < PROBE_INTERVAL_MAX_MS ? pr->interval_ms * 2
                                                                      : PROBE_INTERVAL_MAX_MS;
}

/* Detached: tell the waiting parent we are up, and move our output to a log. */
static void report_started(struct run_state *s)
{
    char path[4096];
    int fd;
    if (s->req->status_fd < 0)
        return;
    printf("started %s (pid %d, cid %u)\n", s->req->cfg.name, (int)getpid(), s->req->cfg.cid);
    fflush(stdout);
    fflush(stderr);
    plan_path(&s->req->cfg, "launcher.log", path, sizeof(path));
    fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
    if (fd >= 0) {
        dup2(fd, 1);
        dup2(fd, 2);
        close(fd);
    }
    if (write(s->req->status_fd, "", 1) < 0)
        perror("miura: status pipe");
    close(s->req->status_fd);
    s->req->status_fd = -1;
}

static void supervise(struct run_state *s)
{
    const struct launch_config *c = &s->req->cfg;
    struct probes pr = {.pending = c->npublish, .interval_ms = PROBE_INTERVAL_FIRST_MS};
    int64_t settle = now_ms() + DETACH_SETTLE_MS;
    pr.deadline = now_ms() + (int64_t)s->req->ready_timeout_s * 1000;
    pr.next = pr.started = now_ms();
    for (;;) {
        int64_t now = now_ms(), wake = -1;
        if (pr.pending && now >= pr.next)
            probe_round(s, &pr);
        /* Detached start: done once every port is settled and QEMU stayed up a
         * moment — or at once when a published port has served a request. */
        if (s->req->status_fd >= 0 && !pr.pending && !s->qemu.exited &&
            ((c->npublish > 0 && pr.served > 0) || now_ms() >= settle))
            report_started(s);
        if (read_signals(s) || s->qemu.exited || s->vsockd.exited || s->virtiofsd.exited)
            return;
        if (pr.pending)
            wake = pr.next;
        if (s->req->status_fd >= 0 && settle > now_ms() && (wake < 0 || settle < wake))
            wake = settle; /* (a settle time already past must not make this loop spin) */
        int timeout = wake < 0 ? -1 : (int)(wake - now_ms() > 0 ? wake - now_ms() : 0);
        struct pollfd p = {.fd = s->sfd, .events = POLLIN};
        poll(&p, 1, timeout);
    }
}

static int start_parts(struct run_state *s, struct argv_list *vfs, struct argv_list *vsd,
                       struct argv_list *qemu)
{
    char path[4096];
    const struct launch_config *c = &s->req->cfg;
    /* The two daemons start side by side; QEMU needs both sockets. */
    if (vfs->argc > 0 && spawn(&s->virtiofsd, vfs, true, true, true) < 0) {
        fprintf(stderr, "miura: cannot run %s: %s\n", vfs->argv[0], strerror(errno));
        return -1;
    }
    if (spawn(&s->vsockd, vsd, true, true, true) < 0) {
        fprintf(stderr, "miura: cannot run %s: %s\n", vsd->argv[0], strerror(errno));
        return -1;
    }
    if (vfs->argc > 0) {
        plan_path(c, "fs.sock", path, sizeof(path));
        if (wait_socket(s, &s->virtiofsd, path) < 0)
            return -1;
    }
    plan_path(c, "vhost.sock", path, sizeof(path));
    if (wait_socket(s, &s->vsockd, path) < 0)
        return -1;
    plan_path(c, "vsock.sock", path, sizeof(path));
    if (wait_socket(s, &s->vsockd, path) < 0)
        return -1;
    /* Foreground: QEMU shares our stdin/stdout (-serial stdio); its stderr goes to qemu.log. */
    if (spawn(&s->qemu, qemu, false, s->req->detached, s->req->detached) < 0) {
        fprintf(stderr, "miura: cannot run %s: %s\n", qemu->argv[0], strerror(errno));
        return -1;
    }
    return 0;
}

int run_instance(struct run_request *r)
{
    struct run_state s = {
        .req = r,
        .qemu = {.what = "qemu"},
        .vsockd = {.what = "miura-vsockd"},
        .virtiofsd = {.what = "virtiofsd"},
        .sfd = -1,
    };
    struct argv_list vfs, vsd, qemu;
    const char *err;
    sigset_t set;
    int rc;

    sigemptyset(&set);
    sigaddset(&set, SIGCHLD);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGHUP);
    sigprocmask(SIG_BLOCK, &set, NULL);
    prctl(PR_SET_CHILD_SUBREAPER, 1);
    s.sfd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
    plan_path(&r->cfg, "qemu.log", s.qemu.log, sizeof(s.qemu.log));
    plan_path(&r->cfg, "vsockd.log", s.vsockd.log, sizeof(s.vsockd.log));
    plan_path(&r->cfg, "virtiofsd.log", s.virtiofsd.log, sizeof(s.virtiofsd.log));

    if (s.sfd < 0) {
        fprintf(stderr, "miura: signalfd: %s\n", strerror(errno));
        rc = EXIT_LAUNCHER_FAILED;
        goto out;
    }
    if (plan_build(&r->cfg, &vfs, &vsd, &qemu, &err) < 0) {
        fprintf(stderr, "miura: %s\n", err);
        rc = EXIT_LAUNCHER_FAILED;
        goto out;
    }
    if (start_parts(&s, &vfs, &vsd, &qemu) < 0) {
        rc = s.signal_seen ? 128 + s.signal_seen : EXIT_LAUNCHER_FAILED;
    } else {
        supervise(&s);
        rc = decide_exit(&s);
    }
    plan_free(&vfs);
    plan_free(&vsd);
    plan_free(&qemu);
out:
    teardown(&s);
    if (s.sfd >= 0)
        close(s.sfd);
    return rc;
}
