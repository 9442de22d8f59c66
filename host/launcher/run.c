/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Supervising one instance; see run.h.
 *
 * Order of events:
 *   1. virtiofsd (with --share), then miura-vsockd; each must create its
 *      socket within VM_SOCKET_WAIT_MS or the start fails with its last log line.
 *   2. QEMU, console on our stdout (or console.log when detached).
 *   3. Each published port is probed with a real HTTP request until it
 *      answers ("serving http://ADDR:PORT") or ready_timeout_s passes; the
 *      tries start 10 ms apart and back off to 250 ms.
 *   4. The first of: QEMU exits, a daemon exits, SIGINT/SIGTERM/SIGHUP.
 *   5. Teardown: SIGTERM to QEMU, then to the daemons, SIGKILL after
 *      VM_GRACE_MS; every child reaped; run directory and CID lock removed.
 *
 * Signals are blocked and read from a signalfd, so nothing runs in a signal
 * handler. Children get PR_SET_PDEATHSIG, so even a SIGKILLed launcher leaves
 * no process behind. The daemons run in their own process group so that a
 * terminal's Ctrl-C reaches QEMU and us, and we stop the daemons in order.
 */
#include "launcher/run.h"

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

#include "common/cidlock.h"
#include "common/clock.h"
#include "common/vm_parts.h"
#include "launcher/instance.h"
#include "launcher/probe.h"

#define PROBE_INTERVAL_FIRST_MS 5    /* for the first second, then doubling up to ..._MAX_MS: */
#define PROBE_FAST_MS           1000 /* an appliance that starts in ms is seen in ms */
#define PROBE_INTERVAL_MAX_MS   250
#define PROBE_TIMEOUT_MS        2000
#define DETACH_SETTLE_MS        500

struct run_state {
    struct run_request *req;
    struct vm_part qemu, vsockd, virtiofsd;
    int sfd;
    int signal_seen; /* SIGINT/SIGTERM/SIGHUP that stopped us, 0 if none */
};

/* Signed, for deadline arithmetic. */
static int64_t now_ms(void)
{
    return (int64_t)monotonic_ms();
}

static void reap(struct run_state *s)
{
    struct vm_part *parts[] = {&s->qemu, &s->vsockd, &s->virtiofsd};
    vm_reap(parts, 3);
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

/* vm_wait_socket's question: did a signal ask us to stop? (it also reaps) */
static bool interrupted(void *ctx)
{
    return read_signals(ctx);
}

/* Step 5: stop QEMU first (it is the daemons' client), then the daemons. */
static void teardown(struct run_state *s)
{
    struct vm_part *d[] = {&s->vsockd, &s->virtiofsd};
    vm_stop(&s->qemu, d, 2);
    rundir_remove(s->req->run_dir);
    cid_unlock(s->req->base, s->req->cfg.cid, s->req->cid_fd);
    s->req->cid_fd = -1;
}

/* Which part ended first, and what miura's exit status is. */
static int decide_exit(struct run_state *s)
{
    struct vm_part *d[] = {&s->vsockd, &s->virtiofsd};
    if (s->signal_seen) {
        fprintf(stderr, "miura: %s: stopping on %s\n", s->req->cfg.name, strsignal(s->signal_seen));
        return 128 + s->signal_seen;
    }
    return vm_exit_status(&s->qemu, d, 2, "miura");
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
    if (vfs->argc > 0 &&
        vm_spawn(&s->virtiofsd, vfs->argv,
                 VM_SPAWN_OWN_GROUP | VM_SPAWN_QUIET_STDIN | VM_SPAWN_STDOUT_TO_LOG) < 0) {
        fprintf(stderr, "miura: cannot run %s: %s\n", vfs->argv[0], strerror(errno));
        return -1;
    }
    if (vm_spawn(&s->vsockd, vsd->argv,
                 VM_SPAWN_OWN_GROUP | VM_SPAWN_QUIET_STDIN | VM_SPAWN_STDOUT_TO_LOG) < 0) {
        fprintf(stderr, "miura: cannot run %s: %s\n", vsd->argv[0], strerror(errno));
        return -1;
    }
    if (vfs->argc > 0) {
        plan_path(c, "fs.sock", path, sizeof(path));
        if (vm_wait_socket(&s->virtiofsd, path, interrupted, s, "miura") < 0)
            return -1;
    }
    plan_path(c, "vhost.sock", path, sizeof(path));
    if (vm_wait_socket(&s->vsockd, path, interrupted, s, "miura") < 0)
        return -1;
    plan_path(c, "vsock.sock", path, sizeof(path));
    if (vm_wait_socket(&s->vsockd, path, interrupted, s, "miura") < 0)
        return -1;
    /* Foreground: QEMU shares our stdin/stdout (-serial stdio); its stderr goes to qemu.log. */
    if (vm_spawn(&s->qemu, qemu->argv,
                 s->req->detached ? VM_SPAWN_QUIET_STDIN | VM_SPAWN_STDOUT_TO_LOG : 0) < 0) {
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
