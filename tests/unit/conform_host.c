/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * miura-vsockd's connection code (host/vsockd/conn.c, device.c, the CONNECT
 * line of endpoint.c) held to spec/vsock.pml: every "H ..." line of the
 * model's simulations is replayed against the real code, with fake guest
 * rings (vsockd_fake.h) and a fake host stream whose capacity is the
 * model's (the socket calls conn.c and endpoint.c make are routed here with
 * the linker's --wrap; conform.mk). See conform_trace.h.
 *
 * Lines of one vsockd step:
 *   H ev EVENT [ARGS]   a tx packet, a free rx buffer ("emit"), the host
 *                       client acting, an epoll event, a timer
 *   H out OP FLAGS BUF FWD   the packet put in the rx buffer
 *   H row NAME
 *   H st STATE PENDING GUESTSHUT BUFLEN FD WRSHUT EOF RXCNT FWDCNT TXCNT
 * An rx buffer is posted only for "emit", so the C speaks exactly when the
 * model does.
 */
#include <errno.h>
#include <stdarg.h>
#include <sys/epoll.h>

#include "conform_trace.h"
#include "test.h"
#include "vsockd/endpoint.h"
#include "vsockd_fake.h"

#define GPORT   5000     /* guest listener (host-initiated connections) */
#define PEER    7000     /* host listener (guest-initiated connections) */
#define GEPH    49152    /* the guest's port for those */
#define HOST_FD 900      /* the fake host stream's descriptor */
#define SK_CAP  1        /* units the host client has not read yet, at most (model's SK_CAP) */
#define RXBUF   0x140000 /* the one rx buffer, in fake guest memory */
#define TXBUF   0x160000 /* the one tx packet */
#define RX_USED 0x12000

/* ---- the host stream: what the client and vsockd each did */

static struct {
    uint8_t in[2 * CF_UNIT + 64]; /* client -> vsockd (a CONNECT line, data units) */
    size_t in_len;
    uint8_t out[SK_CAP * CF_UNIT]; /* vsockd -> client */
    size_t out_len;
    bool cshut, cclosed; /* the client shut down writing / closed */
    bool dshut, dclosed; /* vsockd shut down writing / closed */
} hs;

ssize_t __real_readv(int fd, const struct iovec *iov, int n);
ssize_t __real_sendmsg(int fd, const struct msghdr *m, int flags);
ssize_t __real_send(int fd, const void *buf, size_t n, int flags);
ssize_t __real_recv(int fd, void *buf, size_t n, int flags);
int __real_shutdown(int fd, int how);
int __real_close(int fd);
ssize_t __wrap_readv(int fd, const struct iovec *iov, int n);
ssize_t __wrap_sendmsg(int fd, const struct msghdr *m, int flags);
ssize_t __wrap_send(int fd, const void *buf, size_t n, int flags);
ssize_t __wrap_recv(int fd, void *buf, size_t n, int flags);
int __wrap_shutdown(int fd, int how);
int __wrap_close(int fd);

static ssize_t stream_read(void *buf, size_t n, bool peek)
{
    if (!hs.in_len) {
        if (hs.cshut || hs.cclosed)
            return 0;
        errno = EAGAIN;
        return -1;
    }
    size_t k = n < hs.in_len ? n : hs.in_len;
    memcpy(buf, hs.in, k);
    if (!peek) {
        memmove(hs.in, hs.in + k, hs.in_len - k);
        hs.in_len -= k;
    }
    return (ssize_t)k;
}

ssize_t __wrap_readv(int fd, const struct iovec *iov, int n)
{
    if (fd != HOST_FD)
        return __real_readv(fd, iov, n);
    ssize_t done = 0;
    for (int i = 0; i < n; i++) {
        ssize_t r = stream_read(iov[i].iov_base, iov[i].iov_len, false);
        if (r <= 0)
            return done ? done : r;
        done += r;
    }
    return done;
}

ssize_t __wrap_recv(int fd, void *buf, size_t n, int flags)
{
    if (fd != HOST_FD)
        return __real_recv(fd, buf, n, flags);
    return stream_read(buf, n, flags & MSG_PEEK);
}

static ssize_t stream_write(const struct iovec *iov, size_t n)
{
    if (hs.cclosed || hs.dshut || hs.dclosed) {
        errno = EPIPE;
        return -1;
    }
    size_t done = 0;
    for (size_t i = 0; i < n && hs.out_len < sizeof(hs.out); i++) {
        size_t k = sizeof(hs.out) - hs.out_len;
        if (k > iov[i].iov_len)
            k = iov[i].iov_len;
        memcpy(hs.out + hs.out_len, iov[i].iov_base, k);
        hs.out_len += k;
        done += k;
    }
    if (!done) {
        errno = EAGAIN;
        return -1;
    }
    return (ssize_t)done;
}

ssize_t __wrap_sendmsg(int fd, const struct msghdr *m, int flags)
{
    if (fd != HOST_FD)
        return __real_sendmsg(fd, m, flags);
    return stream_write(m->msg_iov, m->msg_iovlen);
}

/* Only the "OK <port>\n" line: the client takes it at once (check_ok). */
ssize_t __wrap_send(int fd, const void *buf, size_t n, int flags)
{
    if (fd != HOST_FD)
        return __real_send(fd, buf, n, flags);
    struct iovec v = {(void *)buf, n};
    return stream_write(&v, 1);
}

int __wrap_shutdown(int fd, int how)
{
    if (fd != HOST_FD)
        return __real_shutdown(fd, how);
    hs.dshut = true;
    return 0;
}

int __wrap_close(int fd)
{
    if (fd != HOST_FD)
        return __real_close(fd);
    hs.dclosed = true;
    return 0;
}

/* The stream is never polled: loop_epfd stays -1 (host/common/loop.c makes
 * the registry a no-op then) and events come from the model. */

/* ---- coverage of conn.c's table, and what device.c and endpoint.c add */

static struct cf_row rows[] = {
    {"CONNECT_LINE line complete -> CONNECTING, REQUEST to guest", {"line_done"}, NULL, 0},
    {"CONNECT_LINE bad line, EOF, timeout -> closed",
     {"line_bad", "line_client_left", "line_timeout"},
     NULL,
     0},
    {"CONNECTING RESPONSE -> ESTABLISHED (\"OK <port>\" for --uds)",
     {"connecting_response"},
     NULL,
     0},
    {"CONNECTING RESPONSE, --uds client gone -> closed, RST",
     {"connecting_response_client_gone"},
     NULL,
     0},
    {"CONNECTING, no REQUEST of ours out: stray packet ignored", {"connecting_stray"}, NULL, 0},
    {"CONNECTING RST, port accepted before -> REQUEST again after a backoff",
     {NULL},
     "a guest accept queue full of other connections; test_vsockd_backpressure "
     "full_accept_queue_clients_wait_and_retry_in_order, waiting_ends_at_the_connect_timeout",
     0},
    {"CONNECTING RST -> closed", {"connecting_rst"}, NULL, 0},
    {"CONNECTING other op, timeout -> closed, RST to guest",
     {"connecting_other", "connecting_timeout"},
     NULL,
     0},
    {"ESTABLISHED RW -> data to host",
     {"established_rw_written", "established_rw_buffered", "established_rw_discarded"},
     NULL,
     0},
    {"ESTABLISHED RW over credit -> closed, RST",
     {NULL},
     "only a guest that ignores credit; test_vsockd_conn guest_over_credit_is_reset",
     0},
    {"ESTABLISHED RW after guest SHUTDOWN(SEND) -> closed, RST",
     {"established_rw_after_shutdown"},
     NULL,
     0},
    {"ESTABLISHED CREDIT_UPDATE -> peer credit", {"established_credit_update"}, NULL, 0},
    {"ESTABLISHED CREDIT_REQUEST -> CREDIT_UPDATE to guest",
     {"established_credit_request"},
     NULL,
     0},
    {"ESTABLISHED SHUTDOWN -> half close", {"established_shutdown"}, NULL, 0},
    {"ESTABLISHED SHUTDOWN both ways -> RST, closed (once flushed)",
     {"established_shutdown_both", "host_event_flushed_closed"},
     NULL,
     0},
    {"ESTABLISHED RST -> closed", {"established_rst"}, NULL, 0},
    {"ESTABLISHED REQUEST/RESPONSE/other -> closed, RST to guest",
     {"established_unexpected"},
     NULL,
     0},
    {"ESTABLISHED host EOF -> SHUTDOWN(SEND) to guest", {"host_eof"}, NULL, 0},
    {"ESTABLISHED host EOF + guest SEND -> CLOSING, SHUTDOWN(both) to guest",
     {"host_eof_closing", "established_shutdown_closing", "host_event_flushed_closing"},
     NULL,
     0},
    {"ESTABLISHED host error -> closed, RST to guest",
     {"established_rw_write_error", "host_event_write_error"},
     NULL,
     0},
    {"CLOSING RST -> closed", {"closing_rst"}, NULL, 0},
    {"CLOSING SHUTDOWN, timeout -> closed, RST to guest",
     {"closing_shutdown", "closing_timeout"},
     NULL,
     0},
    {"CLOSING other -> ignored", {"closing_ignored"}, NULL, 0},
    /* device.c, endpoint.c */
    {"no connection: REQUEST, host listener -> ESTABLISHED, RESPONSE", {"guest_connect"}, NULL, 0},
    {"no connection: REQUEST, no listener -> RST", {"guest_connect_refused"}, NULL, 0},
    {"no connection: any other op but RST -> RST", {"nowhere"}, NULL, 0},
    {"no connection: RST -> nothing", {"nowhere_rst"}, NULL, 0},
    {"--publish client accepted -> CONNECTING, REQUEST", {"tcp_accept"}, NULL, 0},
    {"--uds client accepted -> CONNECT_LINE", {"uds_accept"}, NULL, 0},
    {"host socket event: flush what the socket takes, credit",
     {"host_event", "host_event_flush"},
     NULL,
     0},
    {"rx buffer: queued RST", {"emit_rst"}, NULL, 0},
    {"rx buffer: REQUEST", {"emit_1"}, NULL, 0},
    {"rx buffer: RESPONSE", {"emit_2"}, NULL, 0},
    {"rx buffer: host data as RW within credit", {"emit_5"}, NULL, 0},
    {"rx buffer: SHUTDOWN", {"emit_4"}, NULL, 0},
    {"rx buffer: CREDIT_UPDATE", {"emit_6"}, NULL, 0},
    {"rx buffer: nothing to say (read EAGAIN)", {"emit_nothing"}, NULL, 0},
    /* the host client (the fake stream), for completeness */
    {"client writes, shuts down, reads, sees the end, closes",
     {"client_write", "client_shutdown", "client_read", "client_eof", "client_close"},
     NULL,
     0},
};
#define NROWS (sizeof(rows) / sizeof(rows[0]))

/* ---- one replay */

struct replay {
    struct fake f;
    bool guest_client, no_listener, uds, stopped;
    struct vsock_conn *c; /* NULL once freed */
    uint32_t host_port, guest_port;
    unsigned written, read;   /* units the client wrote / read */
    unsigned rw_out;          /* RW packets vsockd sent (their units are the client's, in order) */
    unsigned emitted;         /* packets in the rx buffer after an "emit" (0 or 1) */
    char ev[96], rows[4][48]; /* the model rows of the step */
    unsigned nrows;
    unsigned traces, events, packets;
    bool failed;
    char why[512];
    struct vsock_hdr out;
    uint8_t out_data[CF_UNIT];
};

static bool fail(struct replay *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static bool fail(struct replay *r, const char *fmt, ...)
{
    va_list ap;
    char msg[300];
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    snprintf(r->why, sizeof(r->why), "trace %u, step '%s': %s", r->traces + 1, r->ev, msg);
    r->failed = true;
    return false;
}

/* The connection, if it is still alive (closed ones are freed by device_run). */
static struct vsock_conn *live(struct replay *r)
{
    for (struct vsock_conn *c = r->f.dev.all; c; c = c->all_next)
        if (c == r->c)
            return c;
    r->c = NULL;
    return NULL;
}

static void set_counters(struct vsock_conn *c)
{
    c->rx_cnt = c->fwd_cnt = c->last_fwd_sent = c->tx_cnt = CF_C0;
}

static void trace_start(struct replay *r)
{
    memset(&hs, 0, sizeof(hs));
    fake_reset(&r->f);
    fake_clock = 1000;
    r->c = NULL;
    r->stopped = false;
    r->written = r->read = r->rw_out = 0;
    /* vsockd's first host port (conn_alloc_host_port): packets to it may come
     * before the client does */
    r->host_port = r->guest_client ? PEER : 1u << 30;
    r->guest_port = r->guest_client ? GEPH : GPORT;
    fake_listener_fd = r->guest_client && !r->no_listener ? HOST_FD : -1;
}

static void trace_end(struct replay *r)
{
    device_reset_conns(&r->f.dev);
    conn_free_dead(&r->f.dev);
    r->c = NULL;
    r->traces++;
}

static void run(struct replay *r)
{
    device_run(&r->f.dev);
    (void)live(r);
}

/* A tx chain with the guest's packet, header and payload in one buffer. */
static void guest_packet(struct replay *r, const unsigned *a)
{
    uint32_t len = a[0] == VSOCK_OP_RW ? CF_UNIT : 0;
    struct vsock_hdr h = {.src_cid = FAKE_CID,
                          .dst_cid = VSOCK_CID_HOST,
                          .src_port = r->guest_port,
                          .dst_port = r->host_port,
                          .len = len,
                          .type = VSOCK_TYPE_STREAM,
                          .op = (uint16_t)a[0],
                          .flags = a[1],
                          .buf_alloc = a[2] * CF_UNIT,
                          .fwd_cnt = cf_cnt_to_c(a[3])};
    memcpy(r->f.mem + TXBUF, &h, sizeof(h));
    memset(r->f.mem + TXBUF + sizeof(h), (int)(a[4] & 0xff), len);
    uint16_t d = (uint16_t)(r->f.tx_avail % FAKE_QNUM);
    fake_desc(&r->f, 1)[d] = (struct virtq_desc){TXBUF, VSOCK_HDR_SIZE + len, 0, 0};
    fake_publish(&r->f, 1, d);
    device_kick(&r->f.dev, 1);
    run(r);
    if (a[0] == VSOCK_OP_REQUEST && r->guest_client && !r->c) {
        r->c = conn_lookup(&r->f.dev, PEER, GEPH);
        if (r->c)
            set_counters(r->c); /* RESPONSE, still pending, carries them */
    }
}

/* One rx buffer for vsockd to fill; taken back if it says nothing. */
static void emit(struct replay *r)
{
    uint16_t used, before;
    memcpy(&before, r->f.mem + RX_USED + 2, 2);
    uint16_t d = (uint16_t)(r->f.rx_avail % FAKE_QNUM);
    fake_desc(&r->f, 0)[d] =
        (struct virtq_desc){RXBUF, VSOCK_HDR_SIZE + CF_UNIT, VIRTQ_DESC_F_WRITE, 0};
    fake_publish(&r->f, 0, d);
    run(r);
    memcpy(&used, r->f.mem + RX_USED + 2, 2);
    r->emitted = (uint16_t)(used - before);
    if (r->emitted == 0) {
        /* vq_unpop gave it back: retract it so it is not used later */
        uint16_t *avail = (uint16_t *)(r->f.mem + 0x11000);
        r->f.rx_avail--;
        avail[1] = r->f.rx_avail;
        return;
    }
    uint32_t e[2];
    memcpy(e, r->f.mem + RX_USED + 4 + 8 * (before % FAKE_QNUM), sizeof(e));
    memcpy(&r->out, r->f.mem + RXBUF, sizeof(r->out));
    memcpy(r->out_data, r->f.mem + RXBUF + VSOCK_HDR_SIZE, CF_UNIT);
    if (e[1] != VSOCK_HDR_SIZE + r->out.len)
        r->emitted = 99; /* length mismatch: reported by check_out */
}

static void write_line(const char *line)
{
    size_t n = strlen(line);
    memcpy(hs.in + hs.in_len, line, n);
    hs.in_len += n;
}

/* The client of a --publish or --uds listener is accepted (endpoint.c). */
static void accept_client(struct replay *r)
{
    r->c = conn_new(&r->f.dev, HOST_FD, r->uds ? CONN_FROM_UDS : CONN_FROM_TCP);
    if (!r->c)
        return;
    set_counters(r->c);
    if (r->uds) {
        endpoint_connect_line(&r->f.dev, r->c);
    } else {
        conn_start_to_guest(&r->f.dev, r->c, GPORT);
    }
    run(r);
}

static bool do_event(struct replay *r, const char *ev)
{
    unsigned a[5];
    r->emitted = 0;
    if (strcmp(ev, "connect") == 0) {
        accept_client(r);
    } else if (strcmp(ev, "line") == 0 || strcmp(ev, "badline") == 0) {
        write_line(ev[0] == 'l' ? "CONNECT 5000\n" : "CONNECX 5000\n");
        conn_host_event(&r->f.dev, r->c, EPOLLIN);
        run(r);
    } else if (strcmp(ev, "cwrite") == 0) {
        memset(hs.in + hs.in_len, (int)(r->written++ & 0xff), CF_UNIT);
        hs.in_len += CF_UNIT;
    } else if (strcmp(ev, "cread") == 0) {
        if (hs.out_len < CF_UNIT || !cf_unit_is(hs.out, r->read))
            return fail(r, "the client finds %zu bytes, not unit %u", hs.out_len, r->read);
        memmove(hs.out, hs.out + CF_UNIT, hs.out_len - CF_UNIT);
        hs.out_len -= CF_UNIT;
        r->read++;
    } else if (strcmp(ev, "ceof") == 0) {
        if (hs.out_len || !(hs.dshut || hs.dclosed))
            return fail(r, "the client finds %zu bytes and no end of stream", hs.out_len);
    } else if (strcmp(ev, "cshut") == 0) {
        hs.cshut = true;
    } else if (strcmp(ev, "cclose") == 0) {
        hs.cclosed = true;
        hs.out_len = 0;
        if (live(r) && r->c->state == CONN_CONNECT_LINE) {
            conn_host_event(&r->f.dev, r->c, EPOLLIN | EPOLLRDHUP | EPOLLHUP);
            run(r);
        }
    } else if (sscanf(ev, "event %u %u", &a[0], &a[1]) == 2) {
        if (!live(r))
            return fail(r, "no connection to deliver the event to");
        uint32_t events = (a[0] ? EPOLLIN : 0) | (a[1] ? EPOLLOUT : 0) |
                          (hs.cshut ? EPOLLRDHUP : 0) | (hs.cclosed ? EPOLLHUP | EPOLLRDHUP : 0);
        conn_host_event(&r->f.dev, r->c, events);
        run(r);
    } else if (sscanf(ev, "pkt %u %u %u %u %u", &a[0], &a[1], &a[2], &a[3], &a[4]) == 5) {
        guest_packet(r, a);
    } else if (strcmp(ev, "emit") == 0) {
        emit(r);
    } else if (strcmp(ev, "timer") == 0) {
        fake_clock += CONNECT_TIMEOUT_MS + 1; /* past every deadline */
        device_timer(&r->f.dev, fake_clock);
        run(r);
    } else if (strcmp(ev, "stop") == 0) {
        r->stopped = true; /* vsockd is killed: the rest of the trace is the guest's */
    } else {
        return fail(r, "unknown event");
    }
    return true;
}

static bool check_out(struct replay *r, const unsigned *v)
{
    const struct vsock_hdr *h = &r->out;
    if (r->emitted == 99)
        return fail(r, "used length does not match the header's");
    if (r->emitted != 1)
        return fail(r, "model sends op %u, vsockd filled %u buffers", v[0], r->emitted);
    r->emitted = 0;
    r->packets++;
    if (h->op != v[0] || h->flags != v[1] || h->buf_alloc != v[2] * CF_UNIT ||
        h->fwd_cnt != cf_cnt_to_c(v[3]))
        return fail(r,
                    "model sends op %u flags %u buf %u fwd %u; vsockd op %u flags %u buf %u fwd %d",
                    v[0], v[1], v[2], v[3], h->op, h->flags, h->buf_alloc / CF_UNIT,
                    cf_cnt_to_model(h->fwd_cnt));
    if (h->src_cid != VSOCK_CID_HOST || h->dst_cid != FAKE_CID || h->src_port != r->host_port ||
        h->dst_port != r->guest_port || h->type != VSOCK_TYPE_STREAM)
        return fail(r, "packet addressed %u:%u -> %u:%u", (unsigned)h->src_cid, h->src_port,
                    (unsigned)h->dst_cid, h->dst_port);
    if (v[0] == VSOCK_OP_RW) {
        if (h->len != CF_UNIT || !cf_unit_is(r->out_data, r->rw_out))
            return fail(r, "RW carries %u bytes, not the client's unit %u", h->len, r->rw_out);
        r->rw_out++;
    } else if (h->len) {
        return fail(r, "op %u carries %u bytes", v[0], h->len);
    }
    return true;
}

/* --uds: once the guest accepted, the client reads "OK <host port>\n" first. */
static bool check_ok(struct replay *r)
{
    char want[32];
    int n = snprintf(want, sizeof(want), "OK %u\n", r->host_port);
    if (hs.out_len < (size_t)n || memcmp(hs.out, want, (size_t)n) != 0)
        return fail(r, "the --uds client did not get '%.*s'", n - 1, want);
    memmove(hs.out, hs.out + n, hs.out_len - (size_t)n);
    hs.out_len -= (size_t)n;
    return true;
}

static bool check_state(struct replay *r, const unsigned *v)
{
    static const unsigned state_of[] = {
        [CONN_CONNECT_LINE] = 1, [CONN_CONNECTING] = 2, [CONN_ESTABLISHED] = 3, [CONN_CLOSING] = 4};
    if (r->emitted)
        return fail(r, "vsockd filled an rx buffer (op %u) the model leaves empty", r->out.op);
    for (unsigned i = 0; i < r->nrows; i++) {
        if (!cf_row_hit(rows, NROWS, r->rows[i]))
            return fail(r, "model row '%s' is in no row of the harness's table", r->rows[i]);
        if (strcmp(r->rows[i], "connecting_response") == 0 && r->uds && !check_ok(r))
            return false;
    }
    struct vsock_conn *c = live(r);
    if (v[0] == 0 || v[0] == 5) {
        if (c)
            return fail(r, "vsockd keeps the connection (state %u) the model has %s", c->state,
                        v[0] ? "closed" : "not opened");
        return true;
    }
    if (!c)
        return fail(r, "the model's connection (state %u) is gone in vsockd", v[0]);
    if (state_of[c->state] != v[0] || c->pending != v[1] || c->guest_shut != v[2] ||
        c->buf_len != v[3] * CF_UNIT || (c->w.fd >= 0) != (v[4] != 0) ||
        c->host_wr_shut != (v[5] != 0) || c->host_eof != (v[6] != 0) ||
        !cf_cnt_is(c->rx_cnt, v[7]) || !cf_cnt_is(c->fwd_cnt, v[8]) || !cf_cnt_is(c->tx_cnt, v[9]))
        return fail(r,
                    "model state %u pend %u gshut %u buf %u fd %u wrshut %u eof %u rx %u fwd %u "
                    "tx %u; vsockd %u %u %u %u %d %d %d %d %d %d",
                    v[0], v[1], v[2], v[3], v[4], v[5], v[6], v[7], v[8], v[9], state_of[c->state],
                    c->pending, c->guest_shut, c->buf_len / CF_UNIT, c->w.fd >= 0, c->host_wr_shut,
                    c->host_eof, cf_cnt_to_model(c->rx_cnt), cf_cnt_to_model(c->fwd_cnt),
                    cf_cnt_to_model(c->tx_cnt));
    return true;
}

static bool on_line(void *ctx, const char *text)
{
    struct replay *r = ctx;
    unsigned v[10];
    if (strcmp(text, "T reset") == 0) {
        trace_end(r);
        trace_start(r);
        return true;
    }
    if (text[0] != 'H' || r->stopped)
        return true;
    if (strncmp(text, "H ev ", 5) == 0) {
        snprintf(r->ev, sizeof(r->ev), "%s", text + 5);
        r->nrows = 0;
        r->events++;
        return do_event(r, text + 5);
    }
    if (strncmp(text, "H row ", 6) == 0) {
        if (r->nrows == 4)
            return fail(r, "too many rows in one step");
        snprintf(r->rows[r->nrows++], sizeof(r->rows[0]), "%s", text + 6);
        return true;
    }
    if (sscanf(text, "H out %u %u %u %u", &v[0], &v[1], &v[2], &v[3]) == 4)
        return check_out(r, v);
    if (sscanf(text, "H st %u %u %u %u %u %u %u %u %u %u", &v[0], &v[1], &v[2], &v[3], &v[4], &v[5],
               &v[6], &v[7], &v[8], &v[9]) == 10)
        return check_state(r, v);
    return fail(r, "unreadable line '%s'", text);
}

TEST(model_traces)
{
    unsigned bad = 0, total = 0;
    static struct replay r;
    for (unsigned i = 0; i < cf_nconfigs; i++) {
        const struct cf_config *cfg = &cf_configs[i];
        uint8_t *mem = r.f.mem;
        memset(&r, 0, sizeof(r));
        r.f.mem = mem;
        if (!r.f.mem)
            fake_init(&r.f);
        r.guest_client = strstr(cfg->flags, "GUEST_CLIENT") != NULL;
        r.no_listener = strstr(cfg->flags, "NO_LISTENER") != NULL;
        r.uds = strstr(cfg->flags, "HOST_UDS") != NULL;
        char err[256] = "";
        trace_start(&r);
        int rc = cf_simulate(cfg, on_line, &r, err, sizeof(err));
        trace_end(&r);
        if (r.failed) {
            printf("not ok - conform_host/%s (seed %u): %s\n", cfg->name, cfg->seed, r.why);
            bad++;
        } else if (rc < 0) {
            printf("not ok - conform_host/%s: %s\n", cfg->name, err);
            bad++;
        } else {
            printf("ok - conform_host/%s: %u traces, %u vsockd steps, %u packets as the model "
                   "sends them\n",
                   cfg->name, r.traces, r.events, r.packets);
            total += r.events;
        }
    }
    unsigned missed = cf_row_report("conform_host", rows, NROWS);
    CHECK_EQ(bad, 0);
    CHECK_EQ(missed, 0);
    CHECK(total > 0);
}
