/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Supervising one instance; see run.h.
 *
 * Order of events:
 *   0. The published ports' listening sockets are opened once (listeners.h)
 *      and kept for the instance's life; detached, console.log is opened for
 *      appending.
 *   1. The vhost-user sockets fs.sock and vhost.sock are bound here; QEMU
 *      starts first and connects at once (its console on our stdout through
 *      a pipe that names the addresses of crash reports, common/symbolize.h,
 *      or console.log when detached), then virtiofsd (with --share, its
 *      listener as fd 3) and miura-vsockd (the published ports' listeners as
 *      fds 3, 4, ..., its vhost-user one after them). QEMU's handshakes wait
 *      in the listen queues until the daemons accept.
 *   2. Our copies of the two listeners close: a daemon that dies ends QEMU's
 *      connection, and the cause names the daemon (vm_exit_cause).
 *   3. Each published port holds its clients back until the guest accepts a
 *      connection on its guest port (a hybrid CONNECT answered OK); then it
 *      is probed with a real HTTP request until it answers ("serving
 *      http://ADDR:PORT"). Both give up after ready_timeout_s (the port is
 *      then opened anyway); the tries start 5 ms apart and back off to 250
 *      ms. The instance counts as started once every port is settled (or,
 *      without ports, once QEMU stayed up DETACH_SETTLE_MS).
 *   4. The first of: QEMU exits, a daemon exits, SIGINT/SIGTERM/SIGHUP.
 *      The ports hold new clients back again at once. SIGTERM first drains:
 *      the connections in flight get up to stop_timeout_s to finish.
 *   5. The parts are stopped: SIGTERM to QEMU, then to the daemons, SIGKILL
 *      after VM_GRACE_MS; every child reaped.
 *   6. --restart: if the instance had started, was not stopped by a signal,
 *      and the policy wants it, wait the back-off (100 ms doubling to 30 s;
 *      the row starts again after STABLE_MS of running) and go to 1 with the
 *      same name, CID, listeners and run directory. Each restart is said on
 *      stderr (launcher.log when detached) and in console.log.
 *   7. The end is recorded in meta (status, cause); sockets and the CID lock
 *      go, and the whole run directory unless the instance was detached.
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
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "common/cidlock.h"
#include "common/cgroup.h"
#include "common/clock.h"
#include "common/publish.h"
#include "common/runtime_dir.h"
#include "common/symbolize.h"
#include "common/vm_identity.h"
#include "launcher/listeners.h"
#include "launcher/probe.h"

#define PROBE_INTERVAL_FIRST_MS 5    /* for the first second, then doubling up to ..._MAX_MS: */
#define PROBE_FAST_MS           1000 /* an appliance that starts in ms is seen in ms */
#define PROBE_INTERVAL_MAX_MS   250
#define PROBE_TIMEOUT_MS        2000
#define DETACH_SETTLE_MS        500
#define STABLE_MS               10000 /* a run this long starts the back-off row again */
#define DRAIN_POLL_MS           20    /* how often the connections in flight are counted */
#define GUEST_CRASH_STATUS      100   /* the kernel's status for a crash report or panic */
/* The instance's cgroup (docs/security.md): memory.max is --mem plus this for
 * QEMU itself (its code, TCG's translated code, device state), virtiofsd and
 * miura-vsockd; pids.max this many tasks plus CGROUP_PIDS_PER_CPU per vCPU
 * (QEMU's threads, virtiofsd's pool, the daemons). */
#define CGROUP_MEM_OVERHEAD_MIB 256
#define CGROUP_PIDS_BASE        192
#define CGROUP_PIDS_PER_CPU     4

/* How one run of the set ended. */
struct outcome {
    int status;      /* miura's exit status */
    bool failed;     /* anything but the guest's status 0 (for --restart on-failure) */
    bool guest_end;  /* the guest powered off with a status */
    char cause[512]; /* which part ended first and how, one line */
};

/*
 * MIURA_START_TRACE=1 (docs/launcher.md): one line on stderr when a run's
 * first published port has served, saying when each start step ended, in
 * milliseconds since miura started (a restart: since the restart).
 */
struct start_trace {
    bool on;
    uint64_t t0_us;
    char line[400];
    size_t len;
};

static void trace_mark(struct start_trace *t, const char *step)
{
    if (!t->on || t->len >= sizeof(t->line))
        return;
    uint64_t us = monotonic_us() - t->t0_us;
    int n = snprintf(t->line + t->len, sizeof(t->line) - t->len, " %s +%llu.%llu", step,
                     (unsigned long long)(us / 1000), (unsigned long long)(us % 1000 / 100));
    if (n > 0)
        t->len += (size_t)n;
}

static void trace_end(struct start_trace *t, const char *name)
{
    if (!t->on)
        return;
    fprintf(stderr, "miura: %s: start (ms):%s\n", name, t->line);
    t->on = false;
}

struct run_state {
    struct run_request *req;
    struct vm_part qemu, vsockd, virtiofsd;
    int sfd;
    int signal_seen; /* SIGINT/SIGTERM/SIGHUP that stopped us, 0 if none */
    int signals;     /* how many of those came (a second one cuts a drain short) */
    int listen_fd[LAUNCHER_PUBLISH_MAX];
    bool held[LAUNCHER_PUBLISH_MAX]; /* the listener holds new clients back (listeners.h) */
    int console_fd;                  /* detached: console.log, appended; -1 in the foreground */
    off_t console_start;
    int console_pipe; /* foreground: QEMU's stdout, relayed to ours through filter */
    struct crash_filter filter;
    struct elf_symbols syms; /* the image's ELF, to name crash reports (if found) */
    bool have_syms;
    struct cgroup_set cg;       /* the instance's cgroup (as root), kept across restarts */
    int cg_fd[CGROUP_DIRS_MAX]; /* its cgroup.procs files, for each part to join */
    bool started;               /* this run reached step 3's "started" */
    bool ever_started;
    bool any_spawned; /* a part ran: its logs are worth keeping */
    struct start_trace trace;
    /* Foreground: our own stdout lines ("serving ...") wait for the end of
     * a console line the guest is in the middle of (say_line). */
    bool console_mid;
    char said[256];
    size_t said_len;
    int64_t said_at;
};

/* Signed, for deadline arithmetic. */
static int64_t now_ms(void)
{
    return (int64_t)monotonic_ms();
}

static void set_cause(struct outcome *o, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void set_cause(struct outcome *o, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(o->cause, sizeof(o->cause), fmt, ap);
    va_end(ap);
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
            continue;
        s->signals++;
        if (!s->signal_seen)
            s->signal_seen = (int)si.ssi_signo;
    }
    reap(s); /* SIGCHLDs coalesce: always look */
    return s->signal_seen != 0;
}

/* Step 5: stop QEMU first (it is the daemons' client), then the daemons. */
static void stop_parts(struct run_state *s)
{
    struct vm_part *d[] = {&s->vsockd, &s->virtiofsd};
    vm_stop(&s->qemu, d, 2);
}

#define SAY_HOLD_MS 250 /* a console line that long unfinished: ours go anyway */

static void say_flush(struct run_state *s)
{
    if (s->said_len == 0)
        return;
    fwrite(s->said, 1, s->said_len, stdout);
    s->said_len = 0;
    fflush(stdout);
}

/* The console (through the crash filter): our held lines go out at the end
 * of the line it is in. */
static void to_stdout(void *ctx, const char *text, size_t len)
{
    struct run_state *s = ctx;
    while (len > 0) {
        const char *nl = memchr(text, '\n', len);
        size_t n = nl ? (size_t)(nl - text) + 1 : len;
        fwrite(text, 1, n, stdout);
        s->console_mid = !nl;
        text += n;
        len -= n;
        if (nl)
            say_flush(s);
    }
}

static void relay_console(struct run_state *s, bool to_end);

/* One line of ours on stdout. In the foreground it shares the terminal with
 * the guest's console, which comes a few bytes at a time: what the guest
 * printed before goes first (still in the pipe while we probed), and in the
 * middle of a console line ours waits for that line's end (SAY_HOLD_MS at
 * most), so neither is cut in two. */
static void say_line(struct run_state *s, const char *line)
{
    size_t n = strlen(line);
    relay_console(s, false);
    if (s->console_mid && s->said_len + n <= sizeof(s->said)) {
        if (s->said_len == 0)
            s->said_at = now_ms();
        memcpy(s->said + s->said_len, line, n);
        s->said_len += n;
        return;
    }
    say_flush(s);
    fputs(line, stdout);
    fflush(stdout);
}

/* Foreground: what QEMU wrote to the console pipe goes to our stdout, crash
 * reports named; at the pipe's end, or to_end (QEMU has exited), it is closed. */
static void relay_console(struct run_state *s, bool to_end)
{
    char buf[4096];
    ssize_t n;
    if (s->console_pipe < 0)
        return;
    while ((n = read(s->console_pipe, buf, sizeof(buf))) > 0 || (n < 0 && errno == EINTR))
        if (n > 0)
            crash_filter_feed(&s->filter, buf, (size_t)n);
    if (to_end || n == 0) { /* (at its end the pipe would wake every poll) */
        crash_filter_end(&s->filter);
        close(s->console_pipe);
        s->console_pipe = -1;
        s->console_mid = false;
    }
    if (s->said_len && (s->console_pipe < 0 || now_ms() - s->said_at >= SAY_HOLD_MS))
        say_flush(s);
    fflush(stdout);
}

/* The crash site of this run's report in console.log, named ("" if not). */
static void report_site(struct run_state *s, const char *path, char *site, size_t len)
{
    enum { TAIL_MAX = 1 << 20 }; /* a report is near the end */
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    off_t end = fd < 0 ? -1 : lseek(fd, 0, SEEK_END);
    if (end < 0) {
        if (fd >= 0)
            close(fd);
        return;
    }
    off_t from = end - s->console_start > TAIL_MAX ? end - TAIL_MAX : s->console_start;
    char *buf = malloc((size_t)(end - from) + 1);
    ssize_t n = buf ? pread(fd, buf, (size_t)(end - from), from) : -1;
    if (n > 0 && crash_report_site(&s->syms, buf, (size_t)n, site, len) < 0)
        site[0] = '\0';
    free(buf);
    close(fd);
}

/* The guest's status as a cause; a crash names the report's first line and,
 * with the image's ELF at hand, the function it happened in. */
static void guest_cause(struct run_state *s, int code, struct outcome *o)
{
    static const char *const report[] = {"*** CRASH:", "panic:", NULL};
    char first[512];
    if (code != GUEST_CRASH_STATUS) {
        set_cause(o, "guest exited with status %d", code);
        return;
    }
    if (s->console_fd < 0) {
        uint64_t off;
        relay_console(s, true); /* QEMU has exited: the whole report is in the filter */
        const char *name = s->filter.naming && s->filter.site
                               ? elf_symbols_find(&s->syms, s->filter.site, &off)
                               : NULL;
        if (name)
            set_cause(o, "guest crashed (status %d) in %s+0x%llx", code, name,
                      (unsigned long long)off);
        else
            set_cause(o, "guest crashed (status %d: its report is on the console)", code);
        return;
    }
    char path[4096], site[160] = "";
    plan_path(&s->req->cfg, "console.log", path, sizeof(path));
    vm_scan_log(path, s->console_start, NULL, 0, report, first, sizeof(first));
    if (s->have_syms)
        report_site(s, path, site, sizeof(site));
    set_cause(o, "guest crashed (status %d): %s%s%s", code,
              first[0] ? first + (first[0] == '*' ? 4 : 0) : "no report on the console",
              site[0] ? " in " : "", site);
}

/* Which part ended first, and how: miura's exit status and a cause. */
static void decide_exit(struct run_state *s, struct outcome *o)
{
    struct vm_part *d[] = {&s->vsockd, &s->virtiofsd};
    o->failed = true;
    if (s->signal_seen) {
        o->status = 128 + s->signal_seen;
        set_cause(o, "stopped by signal %d (%s)", s->signal_seen, strsignal(s->signal_seen));
        return;
    }
    o->status = vm_exit_cause(&s->qemu, d, 2, o->cause, sizeof(o->cause), &o->guest_end);
    if (o->guest_end) {
        o->failed = o->status != 0;
        guest_cause(s, o->status, o);
    }
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

/* Holds every published port's new clients back (a part ended, or a graceful stop). */
static void hold_ports(struct run_state *s)
{
    for (unsigned i = 0; i < s->req->cfg.npublish; i++)
        if (!s->held[i] && listener_block(s->listen_fd[i]) == 0)
            s->held[i] = true;
}

static void let_clients_in(struct run_state *s, unsigned i)
{
    if (s->held[i] && listener_unblock(s->listen_fd[i]) < 0)
        fprintf(stderr, "miura: %s: port %u: %s\n", s->req->cfg.name,
                s->req->cfg.publish[i].host_port, strerror(errno));
    s->held[i] = false;
}

/*
 * A port held back is opened once the guest accepts a connection on its
 * guest port (through the hybrid socket); then it is probed with HTTP.
 */
static void probe_round(struct run_state *s, struct probes *pr)
{
    const struct launch_config *c = &s->req->cfg;
    char uds[4096];
    plan_path(c, "vsock.sock", uds, sizeof(uds));
    for (unsigned i = 0; i < c->npublish; i++) {
        if (pr->done[i])
            continue;
        int64_t left = pr->deadline - now_ms();
        int t = left < PROBE_TIMEOUT_MS ? (int)(left > 100 ? left : 100) : PROBE_TIMEOUT_MS;
        if (s->held[i]) {
            enum probe_result r = vsock_accept_probe(uds, c->publish[i].guest_port, t);
            if (r != PROBE_READY && now_ms() < pr->deadline)
                continue;
            trace_mark(&s->trace, "accepted");
            let_clients_in(s, i); /* ready, or given up: the port behaves as without a hold */
            if (r != PROBE_READY) {
                fprintf(stderr,
                        "miura: http://%s:%u did not answer HTTP within %d s (the guest "
                        "accepted no connection on vsock port %u)\n",
                        c->publish[i].addr, c->publish[i].host_port, s->req->ready_timeout_s,
                        c->publish[i].guest_port);
                pr->done[i] = true;
                pr->pending--;
                continue;
            }
        }
        pr->last[i] = http_probe(c->publish[i].addr, c->publish[i].host_port, t);
        if (pr->last[i] == PROBE_READY) {
            trace_mark(&s->trace, "served");
            trace_end(&s->trace, c->name);
            char line[96];
            snprintf(line, sizeof(line), "serving http://%s:%u\n", c->publish[i].addr,
                     c->publish[i].host_port);
            say_line(s, line);
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

/* The instance is up (step 3); detached, tell the waiting parent and move our output to a log. */
static void mark_started(struct run_state *s)
{
    char path[4096];
    int fd;
    s->started = s->ever_started = true;
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
    if (c->gdb_wait)
        mark_started(s); /* the CPUs wait for gdb: nothing to wait for here */
    for (;;) {
        int64_t now = now_ms(), wake = -1;
        if (pr.pending && now >= pr.next)
            probe_round(s, &pr);
        /* Started once every port is settled and QEMU stayed up a moment — or
         * at once when a published port has served a request. */
        if (!s->started && !pr.pending && !s->qemu.exited &&
            ((c->npublish > 0 && pr.served > 0) || now_ms() >= settle))
            mark_started(s);
        if (read_signals(s) || s->qemu.exited || s->vsockd.exited || s->virtiofsd.exited)
            return;
        if (pr.pending)
            wake = pr.next;
        if (!s->started && settle > now_ms() && (wake < 0 || settle < wake))
            wake = settle; /* (a settle time already past must not make this loop spin) */
        if (s->said_len && (wake < 0 || s->said_at + SAY_HOLD_MS < wake))
            wake = s->said_at + SAY_HOLD_MS;
        int timeout = wake < 0 ? -1 : (int)(wake - now_ms() > 0 ? wake - now_ms() : 0);
        struct pollfd p[2] = {{.fd = s->sfd, .events = POLLIN},
                              {.fd = s->console_pipe, .events = POLLIN}};
        poll(p, 2, timeout);
        relay_console(s, false);
    }
}

/*
 * SIGTERM (step 4): new clients are kept off the listeners and the
 * connections in flight get up to stop_timeout_s to finish; a second signal
 * or a part's end cuts it short.
 */
static void drain(struct run_state *s)
{
    const struct launch_config *c = &s->req->cfg;
    uint16_t ports[LAUNCHER_PUBLISH_MAX];
    int64_t start = now_ms(), deadline = start + (int64_t)s->req->stop_timeout_s * 1000;
    unsigned n;
    if (s->signal_seen != SIGTERM || c->npublish == 0 || s->req->stop_timeout_s == 0 ||
        s->qemu.exited)
        return;
    hold_ports(s);
    for (unsigned i = 0; i < c->npublish; i++)
        ports[i] = c->publish[i].host_port;
    n = tcp_inflight(ports, c->npublish);
    if (n == 0)
        return;
    fprintf(stderr, "miura: %s: waiting up to %d s for %u connection%s in flight\n", c->name,
            s->req->stop_timeout_s, n, n == 1 ? "" : "s");
    while ((n = tcp_inflight(ports, c->npublish)) > 0 && now_ms() < deadline) {
        struct pollfd p[2] = {{.fd = s->sfd, .events = POLLIN},
                              {.fd = s->console_pipe, .events = POLLIN}};
        poll(p, 2, DRAIN_POLL_MS);
        relay_console(s, false);
        read_signals(s);
        if (s->signals > 1 || s->qemu.exited || s->vsockd.exited || s->virtiofsd.exited)
            break;
    }
    if (n == 0)
        fprintf(stderr, "miura: %s: connections finished in %lld ms\n", c->name,
                (long long)(now_ms() - start));
    else
        fprintf(stderr, "miura: %s: closing %u connection%s still open\n", c->name, n,
                n == 1 ? "" : "s");
}

static int start_parts(struct run_state *s, struct argv_list *vfs, struct argv_list *vsd,
                       struct argv_list *qemu, struct outcome *o)
{
    char path[4096];
    const struct launch_config *c = &s->req->cfg;
    /* Each run appends to the logs; the causes read only its own part. */
    const unsigned daemon =
        VM_SPAWN_OWN_GROUP | VM_SPAWN_QUIET_STDIN | VM_SPAWN_STDOUT_TO_LOG | VM_SPAWN_APPEND_LOG;
    /* Foreground: QEMU's stdout is a pipe we relay (the console, stdio);
     * detached, it is console.log. Never our stdin: the guest reads no
     * console input, and the console's mux would take Ctrl-A as its own. Its stderr goes to
     * qemu.log. Unless --unconfined, it starts confined (common/vm_identity.h). */
    struct vm_confine conf;
    identity_qemu_confine(c, &conf);
    struct vm_spawn_io console = {.stdout_fd = s->console_fd,
                                  .confine = c->unconfined ? NULL : &conf,
                                  .cgroup_fds = s->cg_fd,
                                  .ncgroup = s->cg.n};
    o->status = EXIT_LAUNCHER_FAILED;
    o->failed = true;
    /* The sockets of a run before (a restart): a part killed, or confined to
     * an identity that may not unlink in the run directory, leaves its socket
     * behind, and waiting for it must wait for the new one. */
    static const char *const part_sockets[] = {"fs.sock", "vhost.sock", "vsock.sock",
                                               PLAN_VSOCKD_CONTROL};
    for (unsigned i = 0; i < sizeof(part_sockets) / sizeof(part_sockets[0]); i++)
        if (plan_path(c, part_sockets[i], path, sizeof(path)) == 0)
            unlink(path);
    /*
     * The vhost-user sockets are ours: bound and listening before anything
     * runs, so that QEMU starts first and connects at once, and its start
     * overlaps the daemons' (its handshake waits in the listen queue until
     * a daemon accepts). Our copies close once the daemons have theirs: a
     * daemon that dies then closes QEMU's connection, and QEMU ends.
     */
    int fs_l = -1, vhost_l = -1, vsd_fds[LAUNCHER_PUBLISH_MAX + 1];
    char err[300];
    if (vfs->argc > 0) {
        plan_path(c, "fs.sock", path, sizeof(path));
        fs_l = unix_listen(path, err, sizeof(err));
        /* virtiofsd waits in a blocking accept() */
        if (fs_l < 0 || fcntl(fs_l, F_SETFL, 0) < 0) {
            set_cause(o, "vhost-user socket %s", err);
            goto fail;
        }
    }
    plan_path(c, "vhost.sock", path, sizeof(path));
    if ((vhost_l = unix_listen(path, err, sizeof(err))) < 0) {
        set_cause(o, "vhost-user socket %s", err);
        goto fail;
    }
    if (s->console_fd >= 0)
        s->console_start = lseek(s->console_fd, 0, SEEK_END);
    /* With its own identity QEMU gets its kernel and connections as descriptors. */
    int fds[IDENTITY_QEMU_FDS_MAX];
    unsigned nfds = 0;
    if (c->own_id && identity_qemu_fds(c, fds, &nfds, o->cause, sizeof(o->cause)) < 0)
        goto fail;
    console.pass_fds = fds;
    console.npass = nfds;
    int out[2] = {-1, -1};
    if (s->console_fd < 0) { /* foreground: the console comes through us */
        if (pipe2(out, O_CLOEXEC) < 0) {
            set_cause(o, "console pipe: %s", strerror(errno));
            for (unsigned i = 0; i < nfds; i++)
                close(fds[i]);
            goto fail;
        }
        fcntl(out[0], F_SETFL, O_NONBLOCK);
        console.stdout_fd = out[1];
        s->console_pipe = out[0];
    }
    int rc =
        vm_spawn_io(&s->qemu, qemu->argv, VM_SPAWN_APPEND_LOG | VM_SPAWN_QUIET_STDIN, &console);
    int e = errno;
    for (unsigned i = 0; i < nfds; i++)
        close(fds[i]);
    if (out[1] >= 0)
        close(out[1]);
    if (rc < 0) {
        set_cause(o, "cannot run %s: %s", qemu->argv[0], strerror(e));
        goto fail;
    }
    s->any_spawned = true;
    trace_mark(&s->trace, "qemu");
    const struct vm_spawn_io fs_io = {
        .stdout_fd = -1, .pass_fds = &fs_l, .npass = 1, .cgroup_fds = s->cg_fd, .ncgroup = s->cg.n};
    if (vfs->argc > 0 && vm_spawn_io(&s->virtiofsd, vfs->argv, daemon, &fs_io) < 0) {
        set_cause(o, "cannot run %s: %s", vfs->argv[0], strerror(errno));
        goto fail;
    }
    for (unsigned i = 0; i < c->npublish; i++)
        vsd_fds[i] = s->listen_fd[i];
    vsd_fds[c->npublish] = vhost_l; /* PLAN_PUBLISH_FD + npublish */
    const struct vm_spawn_io vsd_io = {.stdout_fd = -1,
                                       .pass_fds = vsd_fds,
                                       .npass = c->npublish + 1,
                                       .cgroup_fds = s->cg_fd,
                                       .ncgroup = s->cg.n};
    if (vm_spawn_io(&s->vsockd, vsd->argv, daemon, &vsd_io) < 0) {
        set_cause(o, "cannot run %s: %s", vsd->argv[0], strerror(errno));
        goto fail;
    }
    trace_mark(&s->trace, "daemons");
    if (fs_l >= 0)
        close(fs_l);
    close(vhost_l);
    if (c->gdb)
        fprintf(stderr, "miura: %s: gdbstub on %s:%u%s (gdb IMAGE -ex 'target remote %s:%u')\n",
                c->name, c->gdb_spec.addr, c->gdb_spec.port,
                c->gdb_wait ? ", the guest waits for gdb's continue" : "", c->gdb_spec.addr,
                c->gdb_spec.port);
    return 0;
fail:
    if (fs_l >= 0)
        close(fs_l);
    if (vhost_l >= 0)
        close(vhost_l);
    return -1;
}

/* One run of the set (steps 1-5). */
static void run_once(struct run_state *s, struct argv_list *vfs, struct argv_list *vsd,
                     struct argv_list *qemu, struct outcome *o)
{
    const char *trace = getenv("MIURA_START_TRACE");
    s->started = false;
    o->guest_end = false;
    s->trace = (struct start_trace){
        .on = trace && strcmp(trace, "1") == 0 && s->req->cfg.npublish > 0,
        .t0_us = s->ever_started || !s->req->t0_us ? monotonic_us() : s->req->t0_us};
    trace_mark(&s->trace, "prepared");
    if (start_parts(s, vfs, vsd, qemu, o) < 0) {
        if (s->signal_seen) {
            o->status = 128 + s->signal_seen;
            set_cause(o, "stopped by signal %d (%s) while starting", s->signal_seen,
                      strsignal(s->signal_seen));
        }
    } else {
        supervise(s);
        if (s->signal_seen)
            fprintf(stderr, "miura: %s: stopping on %s\n", s->req->cfg.name,
                    strsignal(s->signal_seen));
        else
            hold_ports(s); /* a part ended: no client for it until a guest is back */
        drain(s);
        decide_exit(s, o);
    }
    stop_parts(s);
    relay_console(s, true);
}

/* Step 6: whether to restart, after the back-off; false when a signal came meanwhile. */
static bool restart_after(struct run_state *s, struct outcome *o, int64_t ran_ms, uint32_t *row)
{
    struct run_request *r = s->req;
    char max[32] = "";
    if (s->signal_seen || !s->ever_started ||
        !restart_wanted(&r->restart, o->failed, r->meta->restarts)) {
        if (!s->signal_seen && s->ever_started && restart_wanted(&r->restart, o->failed, 0))
            fprintf(stderr, "miura: %s: not restarted: %u restart%s done, the most allowed\n",
                    r->cfg.name, r->meta->restarts, r->meta->restarts == 1 ? "" : "s");
        return false;
    }
    if (ran_ms >= STABLE_MS)
        *row = 0;
    uint32_t wait = restart_backoff_ms((*row)++);
    r->meta->restarts++;
    if (r->restart.max)
        snprintf(max, sizeof(max), " of %u", r->restart.max);
    fprintf(stderr, "miura: %s: %s; restart %u%s in %u ms\n", r->cfg.name, o->cause,
            r->meta->restarts, max, wait);
    fflush(stderr);
    if (s->console_fd >= 0) {
        char note[700];
        int n = snprintf(note, sizeof(note), "\n-- miura: %s; restart %u%s --\n", o->cause,
                         r->meta->restarts, max);
        if (write(s->console_fd, note, (size_t)n) < 0)
            perror("miura: console.log");
    }
    meta_write(r->run_dir, r->meta);
    int64_t until = now_ms() + wait;
    while (now_ms() < until) {
        struct pollfd p = {.fd = s->sfd, .events = POLLIN};
        poll(&p, 1, (int)(until - now_ms()));
        if (read_signals(s)) {
            fprintf(stderr, "miura: %s: stopping on %s\n", r->cfg.name, strsignal(s->signal_seen));
            o->status = 128 + s->signal_seen;
            o->guest_end = false;
            set_cause(o, "stopped by signal %d (%s) before restart %u", s->signal_seen,
                      strsignal(s->signal_seen), r->meta->restarts);
            return false;
        }
    }
    s->qemu.exited = s->vsockd.exited = s->virtiofsd.exited = false;
    return true;
}

/*
 * The instance's own cgroup (as root, not --unconfined; docs/security.md):
 * /miura.slice/NAME-UID (v1: under our own group), with memory.max and
 * pids.max; every part joins it before exec. What cannot be done is said in
 * one line, and the instance runs without it.
 */
static void cgroup_open(struct run_state *s)
{
    const struct launch_config *c = &s->req->cfg;
    char path[PATH_MAX], cannot[1024];
    s->cg.n = 0;
    if (!c->own_id) {
        if (!c->unconfined)
            fprintf(stderr, "miura: %s: cgroup: none (making one needs root: docs/security.md)\n",
                    c->name);
        return;
    }
    snprintf(path, sizeof(path), "/miura.slice/%s-%u", c->name, c->uid);
    const struct cgroup_limits l = {
        .path = path,
        .v1_nested = true,
        .only_limiting = true,
        .mem_limit = ((int64_t)c->mem_mib + CGROUP_MEM_OVERHEAD_MIB) << 20,
        .pids_limit = CGROUP_PIDS_BASE + CGROUP_PIDS_PER_CPU * (int64_t)c->cpus,
    };
    cgroup_make(&l, &s->cg, cannot, sizeof(cannot));
    if (s->cg.n && cgroup_procs_open(&s->cg, s->cg_fd) < 0) {
        snprintf(cannot, sizeof(cannot), "%.900s/cgroup.procs: %s", s->cg.dir[0], strerror(errno));
        cgroup_remove(s->cg.dir, s->cg.n, 0); /* made just now: nothing in it */
        s->cg.n = 0;
    }
    if (cannot[0])
        fprintf(stderr, "miura: %s: cgroup: not applied: %s\n", c->name, cannot);
    /* Recorded for whoever removes the run directory if we are killed. */
    char rec[PATH_MAX];
    FILE *f;
    if (s->cg.n && plan_path(c, RUNDIR_CGROUPS, rec, sizeof(rec)) == 0 &&
        (f = fopen(rec, "we")) != NULL) {
        for (unsigned i = 0; i < s->cg.n; i++)
            fprintf(f, "%s\n", s->cg.dir[i]);
        fclose(f);
    }
}

/* Once the parts are gone. Whatever they left in the cgroup (a process of
 * theirs still leaving, e.g. virtiofsd's sandboxed child after virtiofsd was
 * killed) is killed, so that the directory can go. */
static void cgroup_close(struct run_state *s)
{
    for (unsigned i = 0; i < s->cg.n; i++)
        close(s->cg_fd[i]);
    cgroup_kill(s->cg.dir, s->cg.n, SIGKILL);
    cgroup_remove(s->cg.dir, s->cg.n, CGROUP_LEAVE_MS);
    s->cg.n = 0;
}

/* Step 7. */
static void finish(struct run_state *s, const struct outcome *o)
{
    struct run_request *r = s->req;
    cgroup_close(s);
    listeners_close(s->listen_fd, r->cfg.npublish);
    if (s->console_fd >= 0)
        close(s->console_fd);
    bool kept = r->detached && s->any_spawned;
    if (kept) {
        r->meta->ended = (long)time(NULL);
        r->meta->status = o->status;
        snprintf(r->meta->cause, sizeof(r->meta->cause), "%s", o->cause);
        meta_write(r->run_dir, r->meta);
        rundir_remove_sockets(r->run_dir);
    } else {
        rundir_remove(r->run_dir);
    }
    identity_release(r->run_dir, kept, &(struct instance_id){r->cfg.uid, r->cfg.gid}, r->id_fd);
    r->id_fd = -1;
    cid_unlock(r->base, r->cfg.cid, r->cid_fd);
    r->cid_fd = -1;
}

/* The cause goes to stderr, unless a signal stopped us (that was said) or
 * it is the guest's own status in the foreground (which is miura's exit
 * status, and the console is on screen). */
static void say_cause(const struct run_state *s, const struct outcome *o)
{
    if (!s->signal_seen && (!o->guest_end || s->req->detached))
        fprintf(stderr, "miura: %s\n", o->cause);
}

int run_instance(struct run_request *r)
{
    static struct run_state s;
    struct argv_list vfs, vsd, qemu;
    struct outcome o = {.status = EXIT_LAUNCHER_FAILED, .failed = true};
    const char *err;
    char path[4096];
    sigset_t set;
    uint32_t row = 0;

    s = (struct run_state){
        .req = r,
        .qemu = {.what = "qemu"},
        .vsockd = {.what = "miura-vsockd"},
        .virtiofsd = {.what = "virtiofsd"},
        .sfd = -1,
        .console_fd = -1,
        .console_pipe = -1,
    };
    for (unsigned i = 0; i < LAUNCHER_PUBLISH_MAX; i++)
        s.listen_fd[i] = -1;
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
        set_cause(&o, "signalfd: %s", strerror(errno));
        goto out;
    }
    if (plan_build(&r->cfg, &vfs, &vsd, &qemu, &err) < 0) {
        set_cause(&o, "%s", err);
        goto out;
    }
    /* The image's ELF names crash reports; without one they keep their addresses. */
    char why[4400], used[4096];
    s.have_syms =
        elf_symbols_open(r->cfg.image, &s.syms, used, sizeof(used), why, sizeof(why)) == 0;
    crash_filter_init(&s.filter, s.have_syms ? &s.syms : NULL, to_stdout, &s);
    if (listeners_open(r->cfg.publish, r->cfg.npublish, s.listen_fd, o.cause, sizeof(o.cause)) < 0)
        goto out_plan;
    for (unsigned i = 0; i < r->cfg.npublish; i++)
        s.held[i] = true;
    plan_path(&r->cfg, "console.log", path, sizeof(path));
    if (r->detached &&
        (s.console_fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600)) < 0) {
        set_cause(&o, "%s: %s", path, strerror(errno));
        goto out_plan;
    }
    cgroup_open(&s);
    for (;;) {
        int64_t t0 = now_ms();
        run_once(&s, &vfs, &vsd, &qemu, &o);
        if (!restart_after(&s, &o, now_ms() - t0, &row))
            break;
    }
    say_cause(&s, &o);
    plan_free(&vfs);
    plan_free(&vsd);
    plan_free(&qemu);
    finish(&s, &o);
    close(s.sfd);
    if (s.have_syms)
        elf_symbols_free(&s.syms);
    return o.status;
out_plan:
    plan_free(&vfs);
    plan_free(&vsd);
    plan_free(&qemu);
out:
    fprintf(stderr, "miura: %s\n", o.cause);
    finish(&s, &o);
    if (s.sfd >= 0)
        close(s.sfd);
    return o.status;
}
