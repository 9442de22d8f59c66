/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * miura-vsockd: a vhost-user-vsock device backend. QEMU connects to --socket;
 * the guest's vsock streams are carried to Unix sockets (--uds, Firecracker's
 * hybrid convention) and TCP (--publish). One thread, one epoll loop.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include "common/clock.h"
#include "common/confine.h"
#include "common/control.h"
#include "common/log.h"
#include "common/number.h"
#include "common/options.h"
#include "vsockd/device.h"
#include "vsockd/endpoint.h"

static const char usage[] =
    "usage: miura-vsockd --socket PATH --cid CID [--uds PATH] [--publish [ADDR:]HPORT:GPORT]...\n"
    "                    [--publish-fd FD:GPORT]... [--socket-fd FD]\n"
    "\n"
    "A vhost-user-vsock device backend: QEMU connects to --socket and the guest's\n"
    "vsock streams are carried to Unix sockets and TCP on the host.\n"
    "\n"
    "  -s, --socket PATH     vhost-user socket to listen on (QEMU connects to it)\n"
    "  -S, --socket-fd FD    the vhost-user listener is the inherited socket FD (>= 3),\n"
    "                        already bound at --socket by whoever starts us (so that\n"
    "                        QEMU may connect before we run); --socket names it\n"
    "  -c, --cid CID         the guest's CID (>= 3), reported in the device config\n"
    "  -u, --uds PATH        hybrid vsock Unix socket (Firecracker convention):\n"
    "                          host -> guest: connect to PATH, send \"CONNECT <port>\\n\",\n"
    "                          read \"OK <host port>\\n\", then the stream;\n"
    "                          guest -> host: a connection to CID 2 port P goes to\n"
    "                          the Unix listener at PATH_P (RST if there is none)\n"
    "  -p, --publish [ADDR:]HOSTPORT:GUESTPORT\n"
    "                        listen on TCP ADDR:HOSTPORT (default ADDR 127.0.0.1) and\n"
    "                        carry each connection to guest port GUESTPORT (repeatable)\n"
    "  -P, --publish-fd FD:GUESTPORT\n"
    "                        the same on an inherited listening socket FD (>= 3), which\n"
    "                        its owner keeps bound while it restarts us (repeatable)\n"
    "  -m, --max-conns N     connections at once, 1..65536 (default 4096). At the limit\n"
    "                        new clients wait in the listen queue (4096 deep) until a\n"
    "                        connection ends; one log line says so. A connection costs\n"
    "                        about 2 KiB idle and may buffer up to 256 KiB of guest\n"
    "                        data for a slow host peer (docs/vsockd.md)\n"
    "      --control PATH    control socket: a client writes \"stats\\n\" and reads\n"
    "                        \"key value\" lines (connections, queue, counters)\n"
    "      --user UID:GID|NAME  once the sockets are open, run as this user (needs\n"
    "                        root; the sockets are handed to it)\n"
    "      --unconfined      do not confine the process (debugging, benchmarks); by\n"
    "                        default, once its sockets are open, it keeps only their\n"
    "                        directories in view, no network but its sockets, no\n"
    "                        capabilities, and a seccomp allow-list (docs/security.md)\n"
    "      --preopen N       keep N connections (0..64, default 0: off) to each published\n"
    "                        guest port established before any client comes, so that a\n"
    "                        TCP client skips the guest's handshake; refilled in the\n"
    "                        background (docs/vsockd.md, \"Pre-opened connections\")\n"
    "  -v, --verbose         log one line per connection event (-vv: more)\n"
    "  -h, --help            this text\n"
    "      --version         the release\n"
    "\n"
    "QEMU (guest RAM must be shared memory):\n"
    "  qemu-system-x86_64 -M microvm,memory-backend=mem \\\n"
    "    -object memory-backend-memfd,id=mem,size=256M,share=on \\\n"
    "    -chardev socket,id=vs0,path=PATH -device vhost-user-vsock-device,chardev=vs0 ...\n"
    "  (q35/pc: -device vhost-user-vsock-pci,chardev=vs0; see docs/vsockd.md)\n"
    "\n"
    "SIGINT/SIGTERM close every connection and remove the sockets.\n";

static struct {
    const char *socket_path;
    int socket_fd; /* --socket-fd: the vhost-user listener, bound by our owner; else -1 */
    uint64_t cid;
    struct common_opts c;                       /* --uds, --publish, --max-conns, -v, -h */
    struct publish_spec inherited[PUBLISH_MAX]; /* --publish-fd: guest_port from it, */
    int inherited_fd[PUBLISH_MAX];              /* the rest from the socket */
    unsigned ninherited;
    unsigned preopen; /* --preopen N */
} opt = {.c.max_conns = 4096, .socket_fd = -1};

static struct tcp_listener listeners[PUBLISH_MAX];
static struct vsock_dev dev;
static struct watch vu_listen_w, vu_conn_w, uds_w, timer_w, signal_w;
static struct control ctl = {.listen_w = {.fd = -1}};

/*
 * What miura-vsockd calls once confined beyond confine_base_rules (found with
 * strace under the e2e suites); anything else ends it by SIGSYS. Guest memory
 * is mapped by the base rules' mmap (shared, never executable).
 */
static const struct confine_rule vsockd_syscalls[] = {
    CONFINE_ALLOW(recvmsg),         /* vhost-user messages and their fds (SCM_RIGHTS) */
    CONFINE_ALLOW(timerfd_settime), /* the one-shot timer of connection deadlines */
};

static int confine(void)
{
    const char *paths[] = {opt.socket_path, opt.c.uds_path, opt.c.control_path};
    struct confine_spec spec = {
        .paths = paths, /* unlinked at exit; PATH_P next to --uds */
        .npaths = 3,
        .owned = paths,
        .nowned = 3,
        .rules = vsockd_syscalls,
        .nrules = sizeof(vsockd_syscalls) / sizeof(vsockd_syscalls[0]),
        /* The heap: each connection's buffer at most, and room for the rest. */
        .data_bytes = (uint64_t)opt.c.max_conns * (CONN_BUF_ALLOC + 4096) + (64u << 20),
    };
    return confine_from_options(&opt.c, &spec);
}

/*
 * Defined only in the test-only build miura-vsockd-forbidden
 * (tests/vsockd/forbidden.c): called on each control request, it makes a
 * system call the allow-list forbids (tests/e2e/security.sh). Not linked
 * into miura-vsockd.
 */
void vsockd_test_on_control(void) __attribute__((weak));

static size_t stats_text(char *buf, size_t len)
{
    if (vsockd_test_on_control)
        vsockd_test_on_control();
    return device_stats_text(&dev, buf, len);
}

static int connect_guest_port(struct vsock_dev *d, uint32_t port)
{
    (void)d;
    return endpoint_connect_unix_port(opt.c.uds_path, port);
}

static const struct vsock_host_ops host_ops = {
    .connect_guest_port = connect_guest_port,
    .now_ms = monotonic_ms,
};

#define OPT_PREOPEN 0x200 /* long only, beyond common/options.h's */

/* A bad option value: its line is out; the usage follows, then exit status 2. */
static int usage_error(void)
{
    fputs(usage, stderr);
    return -1;
}

static int parse_options(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"socket", required_argument, 0, 's'},
        {"cid", required_argument, 0, 'c'},
        {"publish-fd", required_argument, 0, 'P'},
        {"socket-fd", required_argument, 0, 'S'},
        {"preopen", required_argument, 0, OPT_PREOPEN},
        COMMON_LONGOPTS,
        {0, 0, 0, 0},
    };
    uint64_t v;
    int ch;
    argv[0] = (char *)log_prog; /* getopt's lines name the program, not its path */
    while ((ch = getopt_long(argc, argv, "s:c:P:S:" COMMON_SHORTOPTS, longopts, NULL)) != -1) {
        switch (ch) {
        case 's':
            opt.socket_path = optarg;
            break;
        case 'S':
            if (opt_number("socket-fd", optarg, 3, INT32_MAX, NULL, &v))
                return usage_error();
            opt.socket_fd = (int)v;
            break;
        case 'c':
            if (opt_number("cid", optarg, 3, UINT32_MAX - 1, NULL, &v))
                return usage_error();
            opt.cid = v;
            break;
        case OPT_PREOPEN:
            if (opt_number("preopen", optarg, 0, PREOPEN_MAX, NULL, &v))
                return usage_error();
            opt.preopen = (unsigned)v;
            break;
        case 'P': {
            const char *colon = strchr(optarg, ':');
            uint64_t fd;
            int n = parse_digits(optarg, INT32_MAX, &fd);
            if (opt.ninherited == PUBLISH_MAX || !colon || n < 0 || optarg + n != colon || fd < 3 ||
                parse_decimal(colon + 1, 1, UINT32_MAX - 1, &v)) {
                fprintf(stderr,
                        "miura-vsockd: bad --publish-fd '%s': want FD:GUESTPORT (FD >= 3, "
                        "at most %d listeners)\n",
                        optarg, PUBLISH_MAX);
                return usage_error();
            }
            opt.inherited[opt.ninherited] = (struct publish_spec){.guest_port = (uint32_t)v};
            opt.inherited_fd[opt.ninherited++] = (int)fd;
            break;
        }
        default:
            if (common_option(ch, optarg, &opt.c, usage))
                return ch == '?' ? -1 : usage_error(); /* getopt's own line and the usage are out */
        }
    }
    if (opt_no_operands(argc, argv, optind, usage))
        return -1;
    if (opt.c.npublish + opt.ninherited > PUBLISH_MAX) {
        fprintf(stderr, "miura-vsockd: at most %d --publish and --publish-fd together\n",
                PUBLISH_MAX);
        return usage_error();
    }
    if (!opt.socket_path || !opt.cid) {
        fprintf(stderr, "miura-vsockd: --socket and --cid are required\n%s", usage);
        return -1;
    }
    return 0;
}

static void frontend_close(const char *why)
{
    if (strcmp(why, VU_EOF_REASON) == 0)
        log_event("frontend disconnected");
    else
        log_error("closing the frontend connection: %s", why);
    loop_del(&vu_conn_w);
    close(vu_conn_w.fd);
    vu_conn_w.fd = -1;
    vu_backend_reset(&dev.vu);
}

static void frontend_accept(void)
{
    int fd = accept4(vu_listen_w.fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0)
        return;
    if (vu_conn_w.fd >= 0) {
        log_error("refusing a second vhost-user frontend (one is connected)");
        close(fd);
        return;
    }
    vu_conn_w.fd = fd;
    if (loop_add(&vu_conn_w, EPOLLIN) < 0) {
        close(fd);
        vu_conn_w.fd = -1;
        return;
    }
    log_event("frontend connected");
}

static void frontend_input(void)
{
    /* A few messages per wakeup, so that a chatty frontend cannot starve the data path. */
    for (int i = 0; i < 16 && vu_conn_w.fd >= 0; i++) {
        int r = vu_service(&dev.vu, vu_conn_w.fd);
        if (r < 0) {
            frontend_close(dev.vu.error);
            return;
        }
        if (r == 0)
            return;
    }
}

static void cleanup(void)
{
    device_reset_conns(&dev);
    conn_free_dead(&dev);
    if (vu_conn_w.fd >= 0)
        frontend_close(VU_EOF_REASON);
    unlink(opt.socket_path);
    if (opt.c.uds_path)
        unlink(opt.c.uds_path);
    for (unsigned i = 0; i < opt.c.npublish + opt.ninherited; i++)
        if (listeners[i].w.fd >= 0)
            close(listeners[i].w.fd);
    control_close(&ctl);
}

static int setup(void)
{
    char err[200] = "cannot watch a listener";
    vu_conn_w = (struct watch){.fd = -1, .kind = WATCH_VU_CONN};
    vu_listen_w = (struct watch){.fd = -1, .kind = WATCH_VU_LISTEN};
    uds_w = (struct watch){.fd = -1, .kind = WATCH_UDS_LISTEN};
    for (unsigned i = 0; i < opt.c.npublish + opt.ninherited; i++)
        listeners[i] = (struct tcp_listener){
            .spec = i < opt.c.npublish ? &opt.c.publish[i] : &opt.inherited[i - opt.c.npublish],
            .w = {.fd = -1, .kind = WATCH_TCP_LISTEN, .obj = &listeners[i]}};
    if (loop_init() < 0 || loop_add_signals(&signal_w, WATCH_SIGNAL) < 0) {
        fprintf(stderr, "miura-vsockd: setup: %s\n", strerror(errno));
        return -1;
    }
    timer_w = (struct watch){.fd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK),
                             .kind = WATCH_TIMER};
    if (timer_w.fd < 0 || loop_add(&timer_w, EPOLLIN) < 0) {
        fprintf(stderr, "miura-vsockd: setup: %s\n", strerror(errno));
        return -1;
    }
    /* Descriptors: one per connection, the listeners, and the frontend's
     * (socket, memory regions, kick/call/err eventfds). */
    unsigned long want = opt.c.max_conns + opt.c.npublish + opt.ninherited + 64;
    unsigned long have = raise_fd_limit(want);
    if (have < want)
        log_error("warning: --max-conns %u wants %lu file descriptors, the limit is %lu; "
                  "clients beyond it wait in the listen queue",
                  opt.c.max_conns, want, have);
    for (unsigned i = 0; i < opt.c.npublish; i++)
        if ((listeners[i].w.fd = publish_listen(&opt.c.publish[i], err, sizeof(err))) < 0 ||
            loop_add(&listeners[i].w, EPOLLIN) < 0 || gate_add(&dev.gate, &listeners[i].w) < 0)
            goto fail;
    for (unsigned i = 0; i < opt.ninherited; i++) {
        struct tcp_listener *l = &listeners[opt.c.npublish + i];
        if (tcp_listener_adopt(opt.inherited_fd[i], &opt.inherited[i], err, sizeof(err)) < 0)
            goto fail;
        l->w.fd = opt.inherited_fd[i];
        if (loop_add(&l->w, EPOLLIN) < 0 || gate_add(&dev.gate, &l->w) < 0)
            goto fail;
    }
    dev.preopen = opt.preopen; /* a pool per published guest port (pool.c) */
    for (unsigned i = 0; opt.preopen && i < opt.c.npublish + opt.ninherited; i++)
        listeners[i].pool = pool_add(&dev, listeners[i].spec->guest_port);
    if (opt.socket_fd >= 0) { /* already at --socket, bound by whoever started us */
        if (listener_adopt(opt.socket_fd, AF_UNIX, "--socket-fd", err, sizeof(err)) < 0)
            goto fail;
        vu_listen_w.fd = opt.socket_fd;
    } else {
        vu_listen_w.fd = unix_listen(opt.socket_path, err, sizeof(err));
    }
    if (vu_listen_w.fd < 0 || loop_add(&vu_listen_w, EPOLLIN) < 0)
        goto fail;
    if (opt.c.uds_path) {
        uds_w.fd = unix_listen(opt.c.uds_path, err, sizeof(err));
        if (uds_w.fd < 0 || loop_add(&uds_w, EPOLLIN) < 0 || gate_add(&dev.gate, &uds_w) < 0)
            goto fail;
    }
    if (opt.c.control_path && control_open(&ctl, opt.c.control_path, WATCH_CTL_LISTEN,
                                           WATCH_CTL_CLIENT, stats_text, err, sizeof(err)) < 0)
        goto fail;
    /* The --uds queue length comes from sock_diag, asked in this network namespace. */
    if (opt.c.uds_path && listen_queued_open() < 0) {
        snprintf(err, sizeof(err), "sock_diag socket: %s", strerror(errno));
        goto fail;
    }
    return 0;
fail:
    fprintf(stderr, "miura-vsockd: %s\n", err);
    if (vu_listen_w.fd >= 0)
        unlink(opt.socket_path);
    if (uds_w.fd >= 0)
        unlink(opt.c.uds_path);
    return -1;
}

/* Arms the timer for the earliest connection deadline: no periodic
 * wake-ups while nothing is waiting for a timeout. A deadline that goes
 * away (a connection established, closed) leaves the timer as it is: it
 * fires once, finds nothing due, and is then set for what is left, or
 * stays off. So a connection's life costs no timer system call but the
 * first connection's. */
static uint64_t armed; /* the deadline the timer is set for, 0 = disarmed */

static void timer_update(void)
{
    uint64_t next = device_next_deadline(&dev);
    if (next == armed || (armed && (!next || next > armed)))
        return;
    struct itimerspec its = {{0, 0}, {0, 0}};
    if (next) /* absolute, on now_ms()'s clock; one in the past fires at once */
        its.it_value = (struct timespec){(time_t)(next / 1000), (long)(next % 1000) * 1000000};
    if (timerfd_settime(timer_w.fd, TFD_TIMER_ABSTIME, &its, NULL) == 0)
        armed = next;
}

static bool handle(struct watch *w, uint32_t events)
{
    uint64_t v;
    switch (w->kind) {
    case WATCH_VU_LISTEN:
        frontend_accept();
        break;
    case WATCH_VU_CONN:
        frontend_input();
        break;
    case WATCH_KICK:
        device_kick(&dev, w->index);
        break;
    case WATCH_UDS_LISTEN:
        endpoint_accept_uds(&dev, w->fd);
        break;
    case WATCH_TCP_LISTEN:
        endpoint_accept_tcp(&dev, w->obj);
        break;
    case WATCH_HOST_CONN:
        conn_host_event(&dev, w->obj, events);
        break;
    case WATCH_TIMER:
        armed = 0; /* a one-shot: it has fired */
        if (read(w->fd, &v, sizeof(v)) > 0) {
            device_timer(&dev, monotonic_ms());
            gate_update(&dev.gate, device_gate_count(&dev),
                        monotonic_ms()); /* an accept hold may be over */
        }
        break;
    case WATCH_CTL_LISTEN:
        control_accept(&ctl);
        break;
    case WATCH_CTL_CLIENT:
        control_input(&ctl, w);
        break;
    case WATCH_SIGNAL:
        return false;
    }
    return true;
}

int main(int argc, char **argv)
{
    struct epoll_event evs[64];
    log_prog = "miura-vsockd";
    if (parse_options(argc, argv) < 0)
        return 2;
    device_init(&dev, opt.cid, opt.c.max_conns, &host_ops);
    const char *trace = getenv("MIURA_VSOCKD_TRACE");
    dev.trace = trace && strcmp(trace, "1") == 0;
    if (setup() < 0)
        return 1;
    if (confine() < 0) {
        cleanup();
        return 1;
    }
    log_event("listening: vhost-user %s, guest cid %llu%s%s, %u published ports, %u pre-opened "
              "connections each",
              opt.socket_path, (unsigned long long)opt.cid, opt.c.uds_path ? ", uds " : "",
              opt.c.uds_path ? opt.c.uds_path : "", opt.c.npublish + opt.ninherited, opt.preopen);
    for (;;) {
        int n = epoll_wait(loop_epfd, evs, 64, device_has_work(&dev) ? 0 : -1);
        if (n < 0 && errno != EINTR) {
            log_error("epoll_wait: %s", strerror(errno));
            break;
        }
        bool running = true;
        for (int i = 0; i < n; i++)
            running &= handle(evs[i].data.ptr, evs[i].events);
        device_run(&dev);
        timer_update();
        if (!running) {
            log_event("signal: shutting down");
            break;
        }
    }
    cleanup();
    return 0;
}
