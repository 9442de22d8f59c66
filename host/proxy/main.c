/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * miura-proxy: the standalone VSocketProxy. Each TCP connection accepted on a
 * --publish address is carried to a guest vsock port through the VMM's hybrid
 * vsock Unix socket (--uds; Firecracker's convention, also served by
 * miura-vsockd --uds): connect, "CONNECT <port>\n", "OK <port>\n", then bytes
 * both ways (host/proxy/relay.c). One thread, one epoll loop, edge-triggered
 * connection sockets, level-triggered listeners.
 */
#include <errno.h>
#include <getopt.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "common/clock.h"
#include "common/confine.h"
#include "common/control.h"
#include "common/gate.h"
#include "common/log.h"
#include "common/loop.h"
#include "common/options.h"
#include "proxy/relay.h"

#define RUN_BUDGET     (256 * 1024) /* bytes per connection per turn, for fairness */
#define RETRY_MS       10           /* retry a connect refused with EAGAIN (backlog full) */
#define ACCEPT_HOLD_MS 100          /* out of fds: stop accepting for this long */
#define ACCEPT_BATCH   64           /* accepts per listener wake-up (level-triggered) */

static const char usage[] =
    "usage: miura-proxy --uds PATH --publish [ADDR:]HOSTPORT:GUESTPORT [--publish ...]\n"
    "                   [--max-conns N] [--connect-timeout MS] [-v]\n"
    "\n"
    "Carries TCP connections to guest vsock ports through a VMM's hybrid vsock Unix\n"
    "socket (Firecracker's convention; miura-vsockd --uds serves it too): for each\n"
    "client it connects to PATH, sends \"CONNECT <guest port>\\n\", expects\n"
    "\"OK <host port>\\n\", then relays bytes both ways.\n"
    "\n"
    "  -u, --uds PATH            the VMM's hybrid vsock Unix socket (need not exist yet)\n"
    "  -p, --publish [ADDR:]HOSTPORT:GUESTPORT\n"
    "                            listen on TCP ADDR:HOSTPORT (IPv4, default 127.0.0.1)\n"
    "                            and carry each connection to GUESTPORT (repeatable)\n"
    "  -m, --max-conns N         connections at once, 1..65536 (default 1024); at the\n"
    "                            limit new clients wait in the listen queue (4096 deep)\n"
    "                            until a connection ends; one log line says so\n"
    "  -t, --connect-timeout MS  time for the VMM's OK, 1..3600000 (default 10000)\n"
    "      --control PATH        control socket: a client writes \"stats\\n\" and reads\n"
    "                            \"key value\" lines (connections, queue, counters)\n"
    "      --user UID:GID|NAME   once the listeners are open, run as this user (needs\n"
    "                            root; it must be able to connect to --uds)\n"
    "      --unconfined          do not confine the process (debugging, benchmarks); by\n"
    "                            default, once its listeners are open, it keeps only the\n"
    "                            directories of --uds and --control in view, no network\n"
    "                            but its sockets, no capabilities, and a seccomp\n"
    "                            allow-list (docs/security.md)\n"
    "  -v, --verbose             one log line per connection event\n"
    "  -h, --help                this text\n"
    "      --version             the release\n"
    "\n"
    "SIGINT/SIGTERM close every connection and exit 0.\n";

/* ---- lists: intrusive, doubly linked */
struct link {
    struct link *prev, *next;
};

static void list_init(struct link *h)
{
    h->prev = h->next = h;
}

static bool list_empty(const struct link *h)
{
    return h->next == h;
}

static void list_add_tail(struct link *h, struct link *n)
{
    n->prev = h->prev;
    n->next = h;
    h->prev->next = n;
    h->prev = n;
}

static void list_del(struct link *n)
{
    if (!n->next)
        return;
    n->prev->next = n->next;
    n->next->prev = n->prev;
    n->prev = n->next = NULL;
}

#define container_of(p, type, member) ((type *)((char *)(p)-offsetof(type, member)))

/* ---- what epoll reports (struct watch's kind; a WATCH_CONN's index is its relay side) */
enum watch_kind { WATCH_LISTEN, WATCH_CONN, WATCH_SIGNAL, WATCH_CTL_LISTEN, WATCH_CTL_CLIENT };

struct listener {
    const struct publish_spec *spec;
    struct watch w; /* w.fd listens */
};

struct conn {
    unsigned long id;
    uint32_t guest_port;
    struct relay r;
    int client_fd, vmm_fd; /* vmm_fd -1 while a connect waits for a retry */
    struct watch w[2];     /* indexed by enum relay_side; fds as in r.end[] */
    uint64_t deadline;     /* ms, for the OK; 0 once streaming */
    uint64_t retry_at;     /* ms, while vmm_fd < 0 */
    bool dead;
    struct link all;     /* in `conns` while open */
    struct link pending; /* in `pending` until streaming (deadline order) */
    struct link retry;   /* in `retries` while vmm_fd < 0 (retry_at order) */
    struct link ready;   /* in `ready` when relay_run stopped on its budget */
    struct link dead_link;
};

static struct {
    struct common_opts c; /* --uds, --publish, --max-conns, -v, -h */
    unsigned connect_timeout_ms;
} opt = {.c.max_conns = 1024, .connect_timeout_ms = 10000};

static struct listener listeners[PUBLISH_MAX];
static struct watch signal_w = {.fd = -1};
static struct link conns, pending, retries, ready, dead;
static unsigned nconns;
static unsigned long next_id = 1;
static struct accept_gate gate; /* the listeners, watched while nconns < --max-conns */
static struct control ctl = {.listen_w = {.fd = -1}};

/* Counters for `stats` on the control socket. */
static struct {
    uint64_t accepted;    /* clients accepted */
    uint64_t established; /* of those, answered OK by the VMM */
    uint64_t refused;     /* closed before the OK (no listener, timeout, VMM gone, ...) */
    uint64_t retries;     /* connects to --uds tried again (its queue was full, or no fds) */
    unsigned peak;        /* most connections open at once */
} stats;

static size_t stats_text(char *buf, size_t len)
{
    size_t off = 0;
    buf[0] = '\0';
    control_kv(buf, len, &off, "active", nconns);
    control_kv(buf, len, &off, "peak", stats.peak);
    control_kv(buf, len, &off, "limit", opt.c.max_conns);
    control_kv(buf, len, &off, "queued", gate_queued(&gate));
    control_kv(buf, len, &off, "accepting", !gate.paused);
    control_kv(buf, len, &off, "accepted", stats.accepted);
    control_kv(buf, len, &off, "established", stats.established);
    control_kv(buf, len, &off, "refused", stats.refused);
    control_kv(buf, len, &off, "retries", stats.retries);
    control_kv(buf, len, &off, "limit_pauses", gate.pauses);
    control_kv(buf, len, &off, "fd_pauses", gate.holds);
    return off;
}

static int confine(void)
{
    const char *paths[] = {opt.c.uds_path, opt.c.control_path};
    const char *owned[] = {opt.c.control_path}; /* --uds is the VMM's */
    struct confine_spec spec = {
        .paths = paths,
        .npaths = 2,
        .owned = owned,
        .nowned = 1,
        /* No calls of its own (strace of tests/e2e/proxy.sh): the relay's readv and
         * sendmsg, the Unix connect to --uds and accept4 are all base rules.
         * Anything else ends it by SIGSYS. */
        .rules = NULL,
        .nrules = 0,
        /* The heap: two relay rings per connection at most, and room for the rest. */
        .data_bytes = (uint64_t)opt.c.max_conns * (2 * RELAY_RING + 4096) + (64u << 20),
    };
    return confine_from_options(&opt.c, &spec);
}

/* ---- options */
/* A bad option value: its line is out; the usage follows, then exit status 2. */
static int usage_error(void)
{
    fputs(usage, stderr);
    return -1;
}

static int parse_options(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"connect-timeout", required_argument, 0, 't'},
        COMMON_LONGOPTS,
        {0, 0, 0, 0},
    };
    uint64_t v;
    int ch;
    argv[0] = (char *)log_prog; /* getopt's lines name the program, not its path */
    while ((ch = getopt_long(argc, argv, "t:" COMMON_SHORTOPTS, longopts, NULL)) != -1) {
        if (ch == 't') {
            if (opt_number("connect-timeout", optarg, 1, 3600000, "ms", &v))
                return usage_error();
            opt.connect_timeout_ms = (unsigned)v;
        } else if (common_option(ch, optarg, &opt.c, usage)) {
            return ch == '?' ? -1 : usage_error(); /* getopt's own line and the usage are out */
        }
    }
    if (opt_no_operands(argc, argv, optind, usage))
        return -1;
    if (!opt.c.uds_path || opt.c.npublish == 0) {
        fprintf(stderr, "miura-proxy: --uds and at least one --publish are required\n%s", usage);
        return -1;
    }
    return 0;
}

/* ---- connections */
static void conn_close(struct conn *c)
{
    if (c->dead)
        return;
    c->dead = true;
    list_del(&c->all);
    list_del(&c->retry);
    list_del(&c->pending);
    list_del(&c->ready);
    if (c->r.state == RELAY_DONE) {
        log_event("conn %lu: closed, %llu bytes to the guest, %llu from it", c->id,
                  (unsigned long long)c->r.up.bytes, (unsigned long long)c->r.down.bytes);
    } else {
        /* A failure: the client gets a reset, not an EOF that could pass for a whole answer. */
        struct linger lg = {.l_onoff = 1, .l_linger = 0};
        setsockopt(c->client_fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
        log_event("conn %lu: guest port %u: %s%s%s", c->id, c->guest_port,
                  c->r.why ? c->r.why : "closed", c->r.err ? ": " : "",
                  c->r.err ? strerror(c->r.err) : "");
    }
    if (c->deadline) /* never got the OK */
        stats.refused++;
    close(c->client_fd);
    if (c->vmm_fd >= 0)
        close(c->vmm_fd);
    relay_free(&c->r);
    nconns--;
    gate_update(&gate, nconns, monotonic_ms()); /* a queued client may come in */
    /* Freed after this batch of events: another event may still point at it. */
    list_add_tail(&dead, &c->dead_link);
}

static void conn_run(struct conn *c)
{
    if (c->dead)
        return;
    bool more = relay_run(&c->r, RUN_BUDGET);
    if (c->r.state == RELAY_STREAM && c->deadline) {
        c->deadline = 0;
        stats.established++;
        list_del(&c->pending);
        log_event("conn %lu: guest port %u: OK %llu", c->id, c->guest_port,
                  (unsigned long long)c->r.ok.port);
    }
    if (c->r.state == RELAY_DONE || c->r.state == RELAY_FAILED) {
        conn_close(c);
        return;
    }
    list_del(&c->ready);
    if (more)
        list_add_tail(&ready, &c->ready);
}

/* Connects to --uds; 0 (c->vmm_fd set, relay started), 1 (retry later), -1 (failed). */
static int conn_connect(struct conn *c)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    strcpy(sa.sun_path, opt.c.uds_path); /* length checked with the options */
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0 && (errno == EMFILE || errno == ENFILE)) {
        /* Descriptors run out: this client waits (until its deadline), new ones queue. */
        gate_hold(&gate, monotonic_ms(), ACCEPT_HOLD_MS, "socket(AF_UNIX)", errno);
        stats.retries++;
        c->retry_at = monotonic_ms() + RETRY_MS;
        list_add_tail(&retries, &c->retry);
        return 1;
    }
    if (fd < 0) {
        relay_fail(&c->r, "socket(AF_UNIX)", errno);
        return -1;
    }
    bool in_progress = false;
    if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
        int e = errno;
        if (e == EAGAIN) { /* the VMM's listen backlog is full */
            close(fd);
            stats.retries++;
            c->retry_at = monotonic_ms() + RETRY_MS;
            list_add_tail(&retries, &c->retry);
            return 1;
        }
        if (e != EINPROGRESS) {
            close(fd);
            if (e == EACCES || e == EPERM) {
                /* Every client would fail so: said without -v, once per 10 s. */
                static struct log_limit denied_log;
                uint64_t skipped;
                if (log_due(&denied_log, monotonic_ms(), 10000, &skipped))
                    log_error("connect to the VMM socket %s: %s; clients are closed (--user "
                              "UID:GID of its owner; %llu more since the last line)",
                              opt.c.uds_path, strerror(e), (unsigned long long)skipped);
            }
            relay_fail(&c->r, "connect to the VMM socket", e);
            return -1;
        }
        in_progress = true;
    }
    c->vmm_fd = fd;
    relay_init(&c->r, c->client_fd, fd, c->guest_port, in_progress);
    for (int s = 0; s < 2; s++) {
        c->w[s] = (struct watch){.fd = s == RELAY_CLIENT ? c->client_fd : c->vmm_fd,
                                 .kind = WATCH_CONN,
                                 .index = (unsigned)s,
                                 .obj = c};
        if (loop_add(&c->w[s], EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET) < 0) {
            relay_fail(&c->r, "epoll_ctl", errno);
            return -1;
        }
    }
    return 0;
}

static void conn_start(struct conn *c)
{
    int r = conn_connect(c);
    if (r < 0)
        conn_close(c);
    else if (r == 0)
        conn_run(c);
}

static void accept_clients(struct listener *l)
{
    /* A bounded batch per wake-up (the listener is level-triggered); at the
     * limit the gate stops watching the listeners and clients wait in their
     * kernel queues. */
    for (int i = 0; i < ACCEPT_BATCH && gate_open(&gate, nconns, monotonic_ms()); i++) {
        int fd = accept4(l->w.fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) {
            if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
                gate_hold(&gate, monotonic_ms(), ACCEPT_HOLD_MS, "accept", errno);
            } else if (errno != EAGAIN && errno != EINTR && errno != ECONNABORTED) {
                log_error("accept on %s:%u: %s", l->spec->addr, l->spec->host_port,
                          strerror(errno));
            }
            break;
        }
        struct conn *c = calloc(1, sizeof(*c));
        if (!c) {
            log_error("closing a client on %s:%u: out of memory", l->spec->addr,
                      l->spec->host_port);
            close(fd);
            gate_hold(&gate, monotonic_ms(), ACCEPT_HOLD_MS, "calloc", ENOMEM);
            break;
        }
        int one = 1;
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
        nconns++;
        stats.accepted++;
        if (nconns > stats.peak)
            stats.peak = nconns;
        c->id = next_id++;
        c->guest_port = l->spec->guest_port;
        c->client_fd = fd;
        c->vmm_fd = -1;
        c->deadline = monotonic_ms() + opt.connect_timeout_ms;
        list_add_tail(&conns, &c->all);
        list_add_tail(&pending, &c->pending);
        log_event("conn %lu: client on %s:%u for guest port %u", c->id, l->spec->addr,
                  l->spec->host_port, c->guest_port);
        conn_start(c);
    }
    gate_update(&gate, nconns, monotonic_ms());
}

/* Handshake deadlines and connect retries; returns the epoll_wait timeout. */
static int timers(void)
{
    uint64_t now = monotonic_ms(), next = UINT64_MAX;
    gate_update(&gate, nconns, now); /* an accept hold may be over */
    if (gate_deadline(&gate))
        next = gate_deadline(&gate);
    /* Every pending connection has the same timeout: the list is in deadline order. */
    while (!list_empty(&pending)) {
        struct conn *c = container_of(pending.next, struct conn, pending);
        if (c->deadline > now)
            break;
        relay_fail(&c->r,
                   c->vmm_fd < 0 ? "timed out connecting to the VMM socket"
                                 : "timed out waiting for the VMM's OK",
                   0);
        conn_close(c);
    }
    if (!list_empty(&pending)) {
        uint64_t d = container_of(pending.next, struct conn, pending)->deadline;
        next = d < next ? d : next;
    }
    /* Retries are queued RETRY_MS after each failure, so the list is in retry_at order. */
    while (!list_empty(&retries)) {
        struct conn *c = container_of(retries.next, struct conn, retry);
        if (c->retry_at > now) {
            next = c->retry_at < next ? c->retry_at : next;
            break;
        }
        list_del(&c->retry);
        conn_start(c); /* may queue it again, RETRY_MS later */
    }
    if (!list_empty(&ready))
        return 0;
    if (next == UINT64_MAX)
        return -1;
    now = monotonic_ms();
    return next <= now ? 0 : (int)(next - now > 60000 ? 60000 : next - now);
}

/* ---- setup and loop */
static int setup(void)
{
    char err[200];
    list_init(&conns);
    list_init(&pending);
    list_init(&retries);
    list_init(&ready);
    list_init(&dead);
    for (unsigned i = 0; i < opt.c.npublish; i++)
        listeners[i] = (struct listener){
            .spec = &opt.c.publish[i], .w = {.fd = -1, .kind = WATCH_LISTEN, .obj = &listeners[i]}};
    if (loop_init() < 0 || loop_add_signals(&signal_w, WATCH_SIGNAL) < 0) {
        fprintf(stderr, "miura-proxy: setup: %s\n", strerror(errno));
        return -1;
    }
    /* Two descriptors per connection, the listeners, a few of our own. */
    unsigned long want = (unsigned long)opt.c.max_conns * 2 + opt.c.npublish + 16;
    unsigned long have = raise_fd_limit(want);
    if (have < want)
        log_error("warning: --max-conns %u wants %lu file descriptors, the limit is %lu; "
                  "clients beyond it wait in the listen queue",
                  opt.c.max_conns, want, have);
    gate_init(&gate, opt.c.max_conns);
    for (unsigned i = 0; i < opt.c.npublish; i++) {
        struct listener *l = &listeners[i];
        l->w.fd = publish_listen(l->spec, err, sizeof(err));
        if (l->w.fd < 0) {
            fprintf(stderr, "miura-proxy: %s\n", err);
            return -1;
        }
        if (loop_add(&l->w, EPOLLIN) < 0 || gate_add(&gate, &l->w) < 0) {
            fprintf(stderr, "miura-proxy: epoll_ctl: %s\n", strerror(errno));
            return -1;
        }
    }
    if (opt.c.control_path && control_open(&ctl, opt.c.control_path, WATCH_CTL_LISTEN,
                                           WATCH_CTL_CLIENT, stats_text, err, sizeof(err)) < 0) {
        fprintf(stderr, "miura-proxy: %s\n", err);
        return -1;
    }
    return 0;
}

static void free_dead(void)
{
    while (!list_empty(&dead)) {
        struct conn *c = container_of(dead.next, struct conn, dead_link);
        list_del(&c->dead_link);
        free(c);
    }
}

static void cleanup(void)
{
    while (!list_empty(&conns)) {
        struct conn *c = container_of(conns.next, struct conn, all);
        relay_fail(&c->r, "shutting down", 0);
        conn_close(c);
    }
    free_dead();
    for (unsigned i = 0; i < opt.c.npublish; i++)
        if (listeners[i].w.fd >= 0)
            close(listeners[i].w.fd);
    control_close(&ctl);
    if (loop_epfd >= 0)
        close(loop_epfd);
    if (signal_w.fd >= 0)
        close(signal_w.fd);
}

int main(int argc, char **argv)
{
    struct epoll_event evs[64];
    log_prog = "miura-proxy";
    if (parse_options(argc, argv) < 0)
        return 2;
    if (setup() < 0 || confine() < 0) {
        cleanup();
        return 1;
    }
    log_event("listening on %u address(es), VMM socket %s", opt.c.npublish, opt.c.uds_path);
    bool running = true;
    while (running) {
        int n = epoll_wait(loop_epfd, evs, 64, timers());
        if (n < 0 && errno != EINTR) {
            log_error("epoll_wait: %s", strerror(errno));
            cleanup();
            return 1;
        }
        for (int i = 0; i < n; i++) {
            struct watch *w = evs[i].data.ptr;
            if (w->kind == WATCH_SIGNAL) {
                running = false;
            } else if (w->kind == WATCH_LISTEN) {
                accept_clients(w->obj);
            } else if (w->kind == WATCH_CTL_LISTEN) {
                control_accept(&ctl);
            } else if (w->kind == WATCH_CTL_CLIENT) {
                control_input(&ctl, w);
            } else {
                struct conn *c = w->obj;
                if (c->dead)
                    continue;
                relay_event(&c->r, (enum relay_side)w->index, evs[i].events);
                conn_run(c);
            }
        }
        /* Connections that stopped on their budget: one more turn each, in order. */
        struct link turn;
        list_init(&turn);
        if (!list_empty(&ready)) {
            turn.next = ready.next;
            turn.prev = ready.prev;
            turn.next->prev = &turn;
            turn.prev->next = &turn;
            list_init(&ready);
        }
        while (!list_empty(&turn)) {
            struct conn *c = container_of(turn.next, struct conn, ready);
            list_del(&c->ready);
            conn_run(c);
        }
        free_dead();
    }
    log_event("signal: shutting down");
    cleanup();
    return 0;
}
