/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The guest vsock stack (kernel/net) held to spec/vsock.pml: every "G ..."
 * line of the model's simulations is replayed against the real code over
 * the fake transport (net_fake.c). See conform_trace.h.
 *
 * Lines of one guest step, printed atomically by the model:
 *   G ev EVENT [ARGS]           what happens (an application call, a packet
 *                               from the device, a tx completion, a timer)
 *   G out OP FLAGS BUF FWD      each packet the guest sends, in order
 *   G row NAME                  the transition the model took
 *   G st STATE LSHUT PSHUT RXBYTES ERR TXCNT FWDCNT PEERBUF PEERFWD BUFALLOC WINEND
 * Sizes are in units of CF_UNIT, counters in the model's modulo-CF_CM form.
 */
#define CF_UNIT 32768u /* see conform_trace.h */
#include <errno.h>
#include <linux/vm_sockets.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "conform_trace.h"
#include "lib/fd/fd.h"
#include "net/socket.h"
#include "net/vsock.h"
#include "net_fake.h"
#include "test.h"

#define GPORT 5000       /* the guest's listener */
#define HPORT 1073741824 /* the host end of a host-initiated connection */
#define PEER  7000       /* the host listener a guest client connects to */

static struct cf_row rows[] = {
    /* vsock_proto.c's table */
    {"nowhere: any but RST -> RST back", {"nowhere"}, NULL, 0},
    {"nowhere: RST -> nothing", {"nowhere_rst"}, NULL, 0},
    {"LISTEN REQUEST, backlog has room -> child ESTABLISHED, RESPONSE",
     {"listen_request"},
     NULL,
     0},
    {"LISTEN REQUEST, backlog full -> RST back",
     {NULL},
     "a second connection; test_net_proto "
     "backlog_overflow_is_refused_and_accept_keeps_arrival_order",
     0},
    {"CONNECTING RESPONSE -> ESTABLISHED", {"connecting_response"}, NULL, 0},
    {"CONNECTING RST -> CLOSED, ECONNREFUSED", {"connecting_rst"}, NULL, 0},
    {"CONNECTING anything else -> CLOSED, RST, EPROTO", {"connecting_other"}, NULL, 0},
    {"CONNECTING timeout -> CLOSED, RST, ETIMEDOUT", {"connecting_timeout"}, NULL, 0},
    {"ESTABLISHED RW: queue payload", {"established_rw"}, NULL, 0},
    {"ESTABLISHED RW beyond the window: dropped",
     {NULL},
     "only a peer that ignores credit; test_net_data peer_beyond_our_window_is_dropped_and_counted",
     0},
    {"ESTABLISHED CREDIT_UPDATE: credit, wake writers", {"established_credit_update"}, NULL, 0},
    {"ESTABLISHED CREDIT_REQUEST: CREDIT_UPDATE", {"established_credit_request"}, NULL, 0},
    {"ESTABLISHED SHUTDOWN: note flags", {"established_shutdown"}, NULL, 0},
    {"ESTABLISHED SHUTDOWN -> peer shut both, nothing unread: RST -> CLOSED",
     {"established_shutdown_both"},
     NULL,
     0},
    {"ESTABLISHED RST -> CLOSED, ECONNRESET unless peer shut SEND", {"established_rst"}, NULL, 0},
    {"ESTABLISHED other ops: dropped", {"established_unexpected"}, NULL, 0},
    {"ESTABLISHED close() -> CLOSING, SHUTDOWN both, timer", {"close_established"}, NULL, 0},
    {"ESTABLISHED close(), peer shut both -> freed, RST", {"close_peer_shut"}, NULL, 0},
    {"CLOSING RST -> freed", {"closing_rst"}, NULL, 0},
    {"CLOSING SHUTDOWN -> peer shut both: RST -> freed", {"closing_shutdown_both"}, NULL, 0},
    {"CLOSING SHUTDOWN, not both yet", {"closing_shutdown"}, NULL, 0},
    {"CLOSING RW: payload dropped", {"closing_rw"}, NULL, 0},
    {"CLOSING CREDIT_UPDATE/CREDIT_REQUEST: ignored", {"closing_credit"}, NULL, 0},
    {"CLOSING other ops: dropped", {"closing_unexpected"}, NULL, 0},
    {"CLOSING timeout -> freed, RST", {"closing_timeout"}, NULL, 0},
    {"any: transport reset -> CLOSED, ECONNRESET",
     {"transport_reset", "transport_reset_idle"},
     NULL,
     0},
    /* the calls (vsock_conn.c, socket.c) */
    {"connect() -> CONNECTING, REQUEST", {"connect"}, NULL, 0},
    {"CONNECTING close() -> CLOSED, RST", {"close_connecting"}, NULL, 0},
    {"accept()", {"accept"}, NULL, 0},
    {"listener close()", {"listener_close"}, NULL, 0},
    {"listener close(), child queued -> child CLOSED, RST", {"listener_close_queued"}, NULL, 0},
    {"send(): RW within credit and SO_SNDBUF", {"send_rw"}, NULL, 0},
    {"send() without credit: CREDIT_REQUEST once, EAGAIN", {"send_credit_request"}, NULL, 0},
    {"send() with an error pending: the error", {"send_error"}, NULL, 0},
    {"send() after shutdown, close or peer SHUTDOWN(RCV): EPIPE", {"send_epipe"}, NULL, 0},
    {"recv(): data, CREDIT_UPDATE when the window ran low", {"recv_data"}, NULL, 0},
    {"recv(): the pending error", {"recv_error"}, NULL, 0},
    {"recv(): end of stream", {"recv_eof"}, NULL, 0},
    {"shutdown(SHUT_WR) -> SHUTDOWN(SEND)", {"shut_send"}, NULL, 0},
    {"shutdown() on a CLOSED socket", {"shut_closed"}, NULL, 0},
    {"close() on a CLOSED socket", {"close_closed"}, NULL, 0},
    {"tx_done: SO_SNDBUF room back", {"tx_done"}, NULL, 0},
    {"setsockopt(SO_RCVBUF) -> CREDIT_UPDATE", {"rcvbuf"}, NULL, 0},
};
#define NROWS (sizeof(rows) / sizeof(rows[0]))

/* One replay: the model's trace of one connection. */
struct replay {
    const char *config;
    bool client;          /* GUEST_CLIENT: the guest connects out */
    int lfd, fd;          /* listener and connection fds, -1 when none */
    struct vsock_sock *s; /* the connection, held while the trace runs */
    uint32_t local_port, peer_port;
    unsigned sent, recvd; /* data units the application sent / received */
    unsigned next;        /* next fake.sent[] to match against "G out" */
    char ev[128];         /* the step being checked */
    char row[64];
    unsigned traces, events, packets;
    bool failed;
    char why[512];
};

_Static_assert(CF_UNIT <= VSOCK_TX_PKT_MAX, "a model unit goes out as one data packet");
static uint8_t unit_buf[CF_UNIT];

static bool fail(struct replay *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static bool fail(struct replay *r, const char *fmt, ...)
{
    va_list ap;
    char msg[256];
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    snprintf(r->why, sizeof(r->why), "trace %u, step '%s': %s", r->traces + 1, r->ev, msg);
    r->failed = true;
    return false;
}

static void fill_unit(unsigned seq)
{
    memset(unit_buf, (int)(seq & 0xff), sizeof(unit_buf));
}

static void trace_start(struct replay *r)
{
    (void)fake_teardown();
    fake_init();
    vsock_net_initial_cnt = CF_C0;
    r->lfd = r->fd = -1;
    r->s = NULL;
    r->sent = r->recvd = r->next = 0;
    r->local_port = r->client ? 0 : GPORT;
    r->peer_port = r->client ? PEER : HPORT;
    int rcvbuf = 4 * CF_UNIT; /* the model's buf_alloc of 4 units */
    if (r->client) {
        r->fd = miura_socket(AF_VSOCK, SOCK_STREAM | SOCK_NONBLOCK, 0);
        miura_setsockopt(r->fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf));
    } else {
        r->lfd = miura_socket(AF_VSOCK, SOCK_STREAM, 0);
        struct sockaddr_vm a = {
            .svm_family = AF_VSOCK, .svm_cid = VMADDR_CID_ANY, .svm_port = GPORT};
        miura_setsockopt(r->lfd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf));
        miura_bind(r->lfd, (struct sockaddr *)&a, sizeof(a));
        miura_listen(r->lfd, 1);
    }
}

/* The connection ends: nothing may be left behind in the guest stack. */
static bool trace_end(struct replay *r)
{
    if (r->s) {
        uint64_t f = net_lock();
        vsock_sock_put(r->s);
        net_unlock(f);
        r->s = NULL;
    }
    r->traces++;
    if (!fake_teardown())
        return fail(r, "the stack still holds sockets, buffers or memory after the trace");
    return true;
}

static void hold(struct replay *r, struct vsock_sock *s)
{
    if (s && !r->s) {
        vsock_sock_hold(s);
        r->s = s;
    }
}

/* An application call's result against the model's: "ok", or "err N". */
static bool check_ret(struct replay *r, long got, int got_errno, long want_ok, const char *want)
{
    unsigned e;
    if (strcmp(want, "ok") == 0 && got == want_ok)
        return true;
    if (sscanf(want, "err %u", &e) == 1 && got == -1 && got_errno == cf_errno_of(e))
        return true;
    return fail(r, "returned %ld (errno %d), model says %s", got, got == -1 ? got_errno : 0, want);
}

static bool do_event(struct replay *r, const char *ev)
{
    unsigned a[5];
    long rc;
    if (strcmp(ev, "connect") == 0) {
        struct sockaddr_vm sa = {
            .svm_family = AF_VSOCK, .svm_cid = FAKE_PEER_CID, .svm_port = PEER};
        rc = miura_connect(r->fd, (struct sockaddr *)&sa, sizeof(sa));
        if (rc != -1 || errno != EINPROGRESS)
            return fail(r, "connect returned %ld errno %d, want EINPROGRESS", rc, errno);
        hold(r, fake_sock(r->fd));
        r->local_port = r->s->local_port;
    } else if (strcmp(ev, "accept") == 0) {
        r->fd = miura_accept4(r->lfd, NULL, NULL, SOCK_NONBLOCK);
        if (r->fd < 0 || fake_sock(r->fd) != r->s)
            return fail(r, "accept gave fd %d, not the queued connection", r->fd);
    } else if (strcmp(ev, "lclose") == 0) {
        if (miura_close(r->lfd) != 0)
            return fail(r, "closing the listener failed");
        r->lfd = -1;
    } else if (strncmp(ev, "send ", 5) == 0) {
        fill_unit(r->sent);
        rc = miura_send(r->fd, unit_buf, CF_UNIT, MSG_DONTWAIT);
        if (!check_ret(r, rc, errno, CF_UNIT, ev + 5))
            return false;
        if (rc > 0)
            r->sent++;
    } else if (strcmp(ev, "recv data") == 0) {
        rc = miura_recv(r->fd, unit_buf, CF_UNIT, MSG_DONTWAIT);
        if (rc != (long)CF_UNIT || !cf_unit_is(unit_buf, r->recvd))
            return fail(r, "recv returned %ld (errno %d), want unit %u whole", rc,
                        rc < 0 ? errno : 0, r->recvd);
        r->recvd++;
    } else if (strncmp(ev, "recv ", 5) == 0) {
        rc = miura_recv(r->fd, unit_buf, CF_UNIT, MSG_DONTWAIT);
        if (!check_ret(r, rc, errno, 0, strcmp(ev + 5, "eof") == 0 ? "ok" : ev + 5))
            return false;
    } else if (sscanf(ev, "shut %u", &a[0]) == 1) {
        if (miura_shutdown(r->fd, SHUT_WR) != 0)
            return fail(r, "shutdown failed: errno %d", errno);
    } else if (strcmp(ev, "close") == 0) {
        if (miura_close(r->fd) != 0)
            return fail(r, "close failed");
        r->fd = -1;
    } else if (strcmp(ev, "txdone") == 0) {
        unsigned i = 0;
        while (i < fake.nsent && (fake.sent[i].done || !fake.sent[i].hdr.len))
            i++;
        if (i == fake.nsent)
            return fail(r, "no payload in flight to complete");
        fake.sent[i].done = true;
        vsock_net_tx_done(&fake.t, fake.sent[i].pkt);
    } else if (strcmp(ev, "timer") == 0) {
        fake.now += VSOCK_CLOSE_TIMEOUT + 1; /* = VSOCK_CONNECT_TIMEOUT */
        uint64_t f = net_lock();
        (void)vsock_net_timers(fake.now);
        net_unlock(f);
    } else if (sscanf(ev, "rcvbuf %u", &a[0]) == 1) {
        int v = (int)(a[0] * CF_UNIT);
        if (miura_setsockopt(r->fd, SOL_SOCKET, SO_RCVBUF, &v, sizeof(v)) != 0)
            return fail(r, "setsockopt(SO_RCVBUF) failed: errno %d", errno);
    } else if (strcmp(ev, "treset") == 0) {
        vsock_net_transport_reset(&fake.t, FAKE_GUEST_CID);
    } else if (sscanf(ev, "pkt %u %u %u %u %u", &a[0], &a[1], &a[2], &a[3], &a[4]) == 5) {
        uint32_t len = a[0] == VSOCK_OP_RW ? CF_UNIT : 0;
        fill_unit(a[4]);
        fake_inject((uint16_t)a[0], r->peer_port, r->local_port, a[1], a[2] * CF_UNIT,
                    cf_cnt_to_c(a[3]), len ? unit_buf : NULL, len);
        if (a[0] == VSOCK_OP_REQUEST && !r->client)
            hold(r, vsock_conn_find(GPORT, FAKE_PEER_CID, HPORT));
    } else {
        return fail(r, "unknown event");
    }
    return true;
}

/* "G out": the next packet the C sent must be this one. */
static bool check_out(struct replay *r, unsigned op, unsigned flags, unsigned buf, unsigned fwd)
{
    if (r->next >= fake.nsent)
        return fail(r, "model sends op %u, the C sent nothing more", op);
    const struct fake_sent *p = &fake.sent[r->next++];
    const struct vsock_hdr *h = &p->hdr;
    r->packets++;
    if (h->op != op || h->flags != flags || h->buf_alloc != buf * CF_UNIT ||
        h->fwd_cnt != cf_cnt_to_c(fwd))
        return fail(
            r, "model sends op %u flags %u buf %u fwd %u; C sent op %u flags %u buf %u fwd %d", op,
            flags, buf, fwd, h->op, h->flags, h->buf_alloc / CF_UNIT, cf_cnt_to_model(h->fwd_cnt));
    if (h->src_cid != FAKE_GUEST_CID || h->dst_cid != FAKE_PEER_CID ||
        h->dst_port != r->peer_port || (r->local_port && h->src_port != r->local_port) ||
        h->type != VSOCK_TYPE_STREAM)
        return fail(r, "packet addressed %u:%u -> %u:%u", (unsigned)h->src_cid, h->src_port,
                    (unsigned)h->dst_cid, h->dst_port);
    if (op == VSOCK_OP_RW && (h->len != CF_UNIT || !cf_unit_is(p->payload, r->sent - 1)))
        return fail(r, "RW carries %u bytes, not unit %u", h->len, r->sent - 1);
    if (op != VSOCK_OP_RW && h->len)
        return fail(r, "op %u carries %u bytes", op, h->len);
    return true;
}

/* "G st": no packet beyond the model's, and the socket's state as the model's. */
static bool check_state(struct replay *r, const unsigned *v)
{
    if (r->next != fake.nsent)
        return fail(r, "the C sent op %u, which the model does not", fake.sent[r->next].hdr.op);
    if (!cf_row_hit(rows, NROWS, r->row))
        return fail(r, "model row '%s' is in no row of the harness's table", r->row);
    if (v[0] == 0)
        return true; /* no connection yet */
    const struct vsock_sock *s = r->s;
    if (!s)
        return fail(r, "the model has a connection, the C none");
    if (s->state != v[0] || s->local_shut != v[1] || s->peer_shut != v[2] ||
        s->rx_bytes != v[3] * CF_UNIT || s->err != cf_errno_of(v[4]) ||
        !cf_cnt_is(s->tx_cnt, v[5]) || !cf_cnt_is(s->fwd_cnt, v[6]) ||
        s->peer_buf_alloc != v[7] * CF_UNIT || !cf_cnt_is(s->peer_fwd_cnt, v[8]) ||
        s->buf_alloc != v[9] * CF_UNIT || !cf_cnt_is(s->rx_win_end, v[10]))
        return fail(
            r,
            "model state %u lshut %u pshut %u rx %u err %u tx %u fwd %u pbuf %u pfwd %u "
            "buf %u win %u; C %u %u %u %u err %d tx %d fwd %d pbuf %u pfwd %d buf %u win %d",
            v[0], v[1], v[2], v[3], v[4], v[5], v[6], v[7], v[8], v[9], v[10], s->state,
            s->local_shut, s->peer_shut, s->rx_bytes / CF_UNIT, s->err, cf_cnt_to_model(s->tx_cnt),
            cf_cnt_to_model(s->fwd_cnt), s->peer_buf_alloc / CF_UNIT,
            cf_cnt_to_model(s->peer_fwd_cnt), s->buf_alloc / CF_UNIT,
            cf_cnt_to_model(s->rx_win_end));
    return true;
}

static bool on_line(void *ctx, const char *text)
{
    struct replay *r = ctx;
    unsigned v[11];
    if (strcmp(text, "T reset") == 0) {
        if (!trace_end(r))
            return false;
        trace_start(r);
        return true;
    }
    if (text[0] != 'G')
        return true;
    if (strncmp(text, "G ev ", 5) == 0) {
        snprintf(r->ev, sizeof(r->ev), "%s", text + 5);
        r->row[0] = 0;
        r->next = fake.nsent;
        r->events++;
        return do_event(r, text + 5);
    }
    if (sscanf(text, "G out %u %u %u %u", &v[0], &v[1], &v[2], &v[3]) == 4)
        return check_out(r, v[0], v[1], v[2], v[3]);
    if (strncmp(text, "G row ", 6) == 0) {
        snprintf(r->row, sizeof(r->row), "%s", text + 6);
        return true;
    }
    if (sscanf(text, "G st %u %u %u %u %u %u %u %u %u %u %u", &v[0], &v[1], &v[2], &v[3], &v[4],
               &v[5], &v[6], &v[7], &v[8], &v[9], &v[10]) == 11)
        return check_state(r, v);
    return fail(r, "unreadable line '%s'", text);
}

TEST(model_traces)
{
    unsigned bad = 0, total = 0;
    for (unsigned i = 0; i < cf_nconfigs; i++) {
        const struct cf_config *cfg = &cf_configs[i];
        struct replay r = {.config = cfg->name,
                           .client = strstr(cfg->flags, "GUEST_CLIENT") != NULL};
        char err[256] = "";
        trace_start(&r);
        if (cf_simulate(cfg, on_line, &r, err, sizeof(err)) < 0 && !r.failed) {
            printf("not ok - conform_guest/%s: %s\n", cfg->name, err);
            (void)trace_end(&r);
            bad++;
            continue;
        }
        if (r.failed) {
            printf("not ok - conform_guest/%s (seed %u): %s\n", cfg->name, cfg->seed, r.why);
            (void)trace_end(&r);
            bad++;
            continue;
        }
        /* the last trace, cut off by the step limit, ends here */
        if (!trace_end(&r)) {
            printf("not ok - conform_guest/%s: %s\n", cfg->name, r.why);
            bad++;
            continue;
        }
        printf("ok - conform_guest/%s: %u traces, %u guest steps, %u packets as the model sends "
               "them\n",
               cfg->name, r.traces, r.events, r.packets);
        total += r.events;
    }
    unsigned missed = cf_row_report("conform_guest", rows, NROWS);
    CHECK_EQ(bad, 0);
    CHECK_EQ(missed, 0);
    CHECK(total > 0);
}
