/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The test driver's guest: drives the rx/tx virtqueues in the shared memfd
 * the way a guest driver would and runs a small vsock stack (credit,
 * shutdown, RST) with echo, sink and source services and guest-initiated
 * client connections. One thread; see frontend_internal.h.
 */
#include "frontend_internal.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

/* ---- guest rings ---- */

static void ring_publish(struct gring *r, uint16_t head)
{
    r->avail[2 + r->avail_idx % QNUM] = head;
    r->avail_idx++;
    __atomic_store_n(&r->avail[1], r->avail_idx, __ATOMIC_RELEASE);
}

void guest_kick(int fd)
{
    uint64_t one = 1;
    if (write(fd, &one, 8) < 0) {
    }
}

void guest_post_rx(struct frontend *fe, unsigned i)
{
    struct virtq_desc *d = fe->rx.desc;
    d[2 * i] = (struct virtq_desc){RX_HDRS + 64 * i, VSOCK_HDR_SIZE,
                                   VIRTQ_DESC_F_NEXT | VIRTQ_DESC_F_WRITE, (uint16_t)(2 * i + 1)};
    d[2 * i + 1] =
        (struct virtq_desc){RX_DATA + (uint64_t)BUF_DATA * i, BUF_DATA, VIRTQ_DESC_F_WRITE, 0};
    ring_publish(&fe->rx, (uint16_t)(2 * i));
}

static int used_next(struct gring *r, uint32_t *id, uint32_t *len)
{
    uint16_t idx = __atomic_load_n((uint16_t *)(r->used + 2), __ATOMIC_ACQUIRE);
    if (idx == r->last_used)
        return 0;
    uint32_t e[2];
    memcpy(e, r->used + 4 + 8 * (r->last_used % QNUM), 8);
    r->last_used++;
    *id = e[0];
    *len = e[1];
    return 1;
}

/* Sends one packet; false if no tx buffer is free. */
static bool send_pkt(struct frontend *fe, struct gconn *c, uint32_t lport, uint32_t pport,
                     uint16_t op, uint32_t flags, const uint8_t *data, uint32_t len)
{
    if (fe->ntx_free == 0)
        return false;
    unsigned i = (unsigned)fe->tx_free[--fe->ntx_free];
    struct vsock_hdr h = {.src_cid = GUEST_CID,
                          .dst_cid = VSOCK_CID_HOST,
                          .src_port = lport,
                          .dst_port = pport,
                          .len = len,
                          .type = VSOCK_TYPE_STREAM,
                          .op = op,
                          .flags = flags};
    if (c) {
        h.buf_alloc = c->buf_alloc;
        h.fwd_cnt = c->fwd_cnt;
        c->last_fwd_sent = c->fwd_cnt;
        c->need_credit = false;
    }
    memcpy(gpa(fe, TX_HDRS + 64 * i), &h, sizeof(h));
    struct virtq_desc *d = fe->tx.desc;
    if (len) {
        uint64_t at = TX_DATA + (uint64_t)BUF_DATA * i;
        if (data)
            memcpy(gpa(fe, at), data, len);
        else
            pattern_fill(gpa(fe, at), c->seed, c->send_off, len);
        d[2 * i] = (struct virtq_desc){TX_HDRS + 64 * i, VSOCK_HDR_SIZE, VIRTQ_DESC_F_NEXT,
                                       (uint16_t)(2 * i + 1)};
        d[2 * i + 1] = (struct virtq_desc){at, len, 0, 0};
    } else {
        d[2 * i] = (struct virtq_desc){TX_HDRS + 64 * i, VSOCK_HDR_SIZE, 0, 0};
    }
    ring_publish(&fe->tx, (uint16_t)(2 * i));
    return true;
}

void fe_post_bad_tx(struct frontend *fe)
{
    pthread_mutex_lock(&fe->lock);
    if (fe->ntx_free > 0) {
        unsigned i = (unsigned)fe->tx_free[--fe->ntx_free];
        fe->tx.desc[2 * i] = (struct virtq_desc){1ull << 40, VSOCK_HDR_SIZE, 0, 0};
        ring_publish(&fe->tx, (uint16_t)(2 * i));
        guest_kick(fe->tx.kick);
    }
    pthread_mutex_unlock(&fe->lock);
}

void fe_inject(struct frontend *fe, const struct vsock_hdr *h, const void *payload,
               uint32_t payload_len, uint32_t desc_len)
{
    pthread_mutex_lock(&fe->lock);
    if (fe->ntx_free > 0) {
        unsigned i = (unsigned)fe->tx_free[--fe->ntx_free];
        uint64_t at = TX_DATA + (uint64_t)BUF_DATA * i;
        memcpy(gpa(fe, at), h, sizeof(*h));
        memcpy(gpa(fe, at + sizeof(*h)), payload, payload_len);
        fe->tx.desc[2 * i] = (struct virtq_desc){at, desc_len, 0, 0};
        ring_publish(&fe->tx, (uint16_t)(2 * i));
        guest_kick(fe->tx.kick);
    }
    pthread_mutex_unlock(&fe->lock);
}

unsigned long fe_stray_rsts(struct frontend *fe)
{
    pthread_mutex_lock(&fe->lock);
    unsigned long n = fe->stray_rsts;
    pthread_mutex_unlock(&fe->lock);
    return n;
}

/* ---- guest connections ---- */

static struct gconn *gconn_find(struct frontend *fe, uint32_t lport, uint32_t pport)
{
    for (unsigned i = 0; i < MAX_GCONN; i++)
        if (fe->conns[i].used && fe->conns[i].lport == lport && fe->conns[i].pport == pport)
            return &fe->conns[i];
    return NULL;
}

static struct gconn *gconn_new(struct frontend *fe, uint32_t lport, uint32_t pport, enum role r)
{
    for (unsigned i = 0; i < MAX_GCONN; i++) {
        struct gconn *c = &fe->conns[i];
        if (c->used)
            continue;
        memset(c, 0, sizeof(*c));
        c->used = true;
        c->lport = lport;
        c->pport = pport;
        c->role = r;
        c->buf_alloc = r == ROLE_ECHO ? GBUF_ECHO : GBUF_BULK;
        hash_init(&c->rh);
        if (r == ROLE_ECHO && !(c->ebuf = malloc(GBUF_ECHO))) {
            c->used = false;
            return NULL;
        }
        return c;
    }
    return NULL;
}

static void gconn_free(struct frontend *fe, struct gconn *c, int status)
{
    if (c->cmd) {
        c->cmd->status = status;
        c->cmd->rx_len = c->rh.count;
        c->cmd->rx_hash = hash_final(&c->rh);
        c->cmd->done = true;
        pthread_cond_broadcast(&fe->cond);
    }
    free(c->ebuf);
    c->used = false;
}

unsigned fe_conn_count(struct frontend *fe)
{
    unsigned n = 0;
    pthread_mutex_lock(&fe->lock);
    for (unsigned i = 0; i < MAX_GCONN; i++)
        n += fe->conns[i].used;
    pthread_mutex_unlock(&fe->lock);
    return n;
}

static void queue_rst(struct frontend *fe, uint32_t lport, uint32_t pport)
{
    if (fe->nrst < 256) {
        fe->rst[fe->nrst].lport = lport;
        fe->rst[fe->nrst].pport = pport;
        fe->nrst++;
    }
}

static void consumed(struct gconn *c, uint32_t n)
{
    c->fwd_cnt += n;
    if (c->buf_alloc - (c->rx_cnt - c->last_fwd_sent) < c->buf_alloc / 2)
        c->need_credit = true;
}

static void recv_data(struct frontend *fe, struct gconn *c, const uint8_t *p, uint32_t len)
{
    c->rx_cnt += len;
    switch (c->role) {
    case ROLE_ECHO:
        if (len > GBUF_ECHO - c->elen) {
            fe->errors++; /* the daemon ignored our credit */
            return;
        }
        for (uint32_t i = 0; i < len; i++) /* small and simple: a test guest */
            c->ebuf[(c->ehead + c->elen + i) % GBUF_ECHO] = p[i];
        c->elen += len;
        return;
    case ROLE_SOURCE:
        while (len > 0 && c->nlen < 8) {
            c->nbuf[c->nlen++] = *p++;
            len--;
            consumed(c, 1);
        }
        if (c->nlen == 8 && !c->send_known) {
            memcpy(&c->send_total, c->nbuf, 8);
            c->seed = c->send_total;
            c->send_known = true;
        }
        consumed(c, len);
        return;
    default:
        hash_update(&c->rh, p, len);
        consumed(c, len);
        return;
    }
}

static void handle_rx(struct frontend *fe, const struct vsock_hdr *h, const uint8_t *p)
{
    if (h->dst_cid != GUEST_CID || h->src_cid != VSOCK_CID_HOST || h->type != VSOCK_TYPE_STREAM) {
        fe->errors++;
        return;
    }
    struct gconn *c = gconn_find(fe, h->dst_port, h->src_port);
    if (!c) {
        if (h->op == VSOCK_OP_REQUEST) {
            enum role r = h->dst_port == PORT_ECHO   ? ROLE_ECHO
                          : h->dst_port == PORT_SINK ? ROLE_SINK
                                                     : ROLE_SOURCE;
            if (h->dst_port < PORT_ECHO || h->dst_port > PORT_SOURCE ||
                !(c = gconn_new(fe, h->dst_port, h->src_port, r))) {
                queue_rst(fe, h->dst_port, h->src_port);
                return;
            }
            c->state = G_OPEN;
            c->need_response = true;
            c->peer_buf_alloc = h->buf_alloc;
            c->peer_fwd_cnt = h->fwd_cnt;
        } else if (h->op != VSOCK_OP_RST) {
            queue_rst(fe, h->dst_port, h->src_port);
        } else {
            fe->stray_rsts++;
        }
        return;
    }
    c->peer_buf_alloc = h->buf_alloc;
    c->peer_fwd_cnt = h->fwd_cnt;
    switch (h->op) {
    case VSOCK_OP_RESPONSE:
        c->state = G_OPEN;
        break;
    case VSOCK_OP_RW:
        recv_data(fe, c, p, h->len);
        break;
    case VSOCK_OP_SHUTDOWN:
        if (h->flags & VSOCK_SHUTDOWN_SEND)
            c->peer_shut_send = true;
        if (h->flags == VSOCK_SHUTDOWN_BOTH) {
            queue_rst(fe, c->lport, c->pport); /* answer a full shutdown with RST */
            gconn_free(fe, c, 0);
        }
        break;
    case VSOCK_OP_RST:
        gconn_free(fe, c, c->state == G_CONNECTING ? -1 : 0);
        break;
    case VSOCK_OP_CREDIT_REQUEST:
        c->need_credit = true;
        break;
    default:
        break;
    }
}

/* What the connection has to send next, as bytes available now. */
static uint32_t data_ready(struct gconn *c)
{
    switch (c->role) {
    case ROLE_ECHO:
        return c->elen;
    case ROLE_SINK:
        return c->reply_ready ? 16 - c->reply_off : 0;
    default:
        return c->send_known
                   ? (uint32_t)(c->send_total - c->send_off < BUF_DATA ? c->send_total - c->send_off
                                                                       : BUF_DATA)
                   : 0;
    }
}

static bool all_sent(struct gconn *c)
{
    switch (c->role) {
    case ROLE_ECHO:
        return c->peer_shut_send && c->elen == 0;
    case ROLE_SINK:
        return c->reply_ready && c->reply_off == 16;
    default:
        return c->send_known && c->send_off == c->send_total;
    }
}

/* Sends what one connection can; returns true if it sent anything. */
static bool service_conn(struct frontend *fe, struct gconn *c)
{
    uint8_t tmp[BUF_DATA];
    if (c->need_request) {
        if (!send_pkt(fe, c, c->lport, c->pport, VSOCK_OP_REQUEST, 0, NULL, 0))
            return false;
        c->need_request = false;
        return true;
    }
    if (c->need_response) {
        if (!send_pkt(fe, c, c->lport, c->pport, VSOCK_OP_RESPONSE, 0, NULL, 0))
            return false;
        c->need_response = false;
        return true;
    }
    if (c->state != G_OPEN)
        return false;
    if (c->role == ROLE_SINK && c->peer_shut_send && !c->reply_ready) {
        uint64_t v[2] = {c->rh.count, hash_final(&c->rh)};
        memcpy(c->reply, v, 16);
        c->reply_ready = true;
    }
    uint32_t n = data_ready(c);
    uint32_t credit = vsock_credit_free(c->peer_buf_alloc, c->peer_fwd_cnt, c->tx_cnt);
    if (n > credit)
        n = credit;
    if (n > BUF_DATA)
        n = BUF_DATA;
    if (n > 0 && !c->shut_sent) {
        const uint8_t *data = NULL;
        if (c->role == ROLE_ECHO) {
            for (uint32_t i = 0; i < n; i++)
                tmp[i] = c->ebuf[(c->ehead + i) % GBUF_ECHO];
            data = tmp;
        } else if (c->role == ROLE_SINK) {
            data = c->reply + c->reply_off;
        }
        if (!send_pkt(fe, c, c->lport, c->pport, VSOCK_OP_RW, 0, data, n))
            return false;
        c->tx_cnt += n;
        if (c->role == ROLE_ECHO) {
            c->ehead = (c->ehead + n) % GBUF_ECHO;
            c->elen -= n;
            consumed(c, n);
        } else if (c->role == ROLE_SINK) {
            c->reply_off += n;
        } else {
            c->send_off += n;
        }
        return true;
    }
    if (all_sent(c) && !c->shut_sent) {
        uint32_t flags = c->role == ROLE_CLIENT ? VSOCK_SHUTDOWN_SEND : VSOCK_SHUTDOWN_BOTH;
        if (!send_pkt(fe, c, c->lport, c->pport, VSOCK_OP_SHUTDOWN, flags, NULL, 0))
            return false;
        c->shut_sent = true;
        return true;
    }
    if (c->need_credit)
        return send_pkt(fe, c, c->lport, c->pport, VSOCK_OP_CREDIT_UPDATE, 0, NULL, 0);
    return false;
}

static void guest_step(struct frontend *fe)
{
    uint32_t id, len;
    bool rx_posted = false, tx_posted = false;
    /* new guest-initiated connections */
    while (fe->cmds) {
        struct client_cmd *cmd = fe->cmds;
        fe->cmds = cmd->next;
        struct gconn *c = gconn_new(fe, fe->next_port++, cmd->port, ROLE_CLIENT);
        if (!c) {
            cmd->status = -1;
            cmd->done = true;
            pthread_cond_broadcast(&fe->cond);
            continue;
        }
        c->state = G_CONNECTING;
        c->need_request = true;
        c->seed = cmd->seed;
        c->send_total = cmd->len;
        c->send_known = true;
        c->cmd = cmd;
    }
    while (used_next(&fe->tx, &id, &len))
        fe->tx_free[fe->ntx_free++] = (int)(id / 2);
    while (used_next(&fe->rx, &id, &len)) {
        unsigned i = id / 2;
        struct vsock_hdr h;
        memcpy(&h, gpa(fe, RX_HDRS + 64 * i), sizeof(h));
        if (i >= NBUF || len < VSOCK_HDR_SIZE || h.len != len - VSOCK_HDR_SIZE)
            fe->errors++;
        else
            handle_rx(fe, &h, gpa(fe, RX_DATA + (uint64_t)BUF_DATA * i));
        if (i < NBUF)
            guest_post_rx(fe, i);
        rx_posted = true;
    }
    for (bool progress = true; progress && fe->ntx_free > 0;) {
        progress = false;
        while (fe->nrst > 0 && fe->ntx_free > 0) {
            fe->nrst--;
            send_pkt(fe, NULL, fe->rst[fe->nrst].lport, fe->rst[fe->nrst].pport, VSOCK_OP_RST, 0,
                     NULL, 0);
            tx_posted = progress = true;
        }
        for (unsigned i = 0; i < MAX_GCONN && fe->ntx_free > 0; i++)
            if (fe->conns[i].used && service_conn(fe, &fe->conns[i]))
                tx_posted = progress = true;
    }
    if (rx_posted)
        guest_kick(fe->rx.kick);
    if (tx_posted)
        guest_kick(fe->tx.kick);
}

void *guest_thread(void *arg)
{
    struct frontend *fe = arg;
    struct pollfd p[3] = {
        {fe->rx.call, POLLIN, 0}, {fe->tx.call, POLLIN, 0}, {fe->cmd_efd, POLLIN, 0}};
    uint64_t v;
    while (!fe->stop) {
        poll(p, 3, 20);
        for (int i = 0; i < 3; i++)
            if (read(p[i].fd, &v, 8) < 0) {
            }
        pthread_mutex_lock(&fe->lock);
        guest_step(fe);
        pthread_mutex_unlock(&fe->lock);
    }
    return NULL;
}

int fe_guest_connect(struct frontend *fe, uint32_t port, uint64_t seed, uint64_t len,
                     uint64_t *rx_len, uint64_t *rx_hash, int timeout_ms)
{
    struct client_cmd cmd = {.port = port, .seed = seed, .len = len};
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += timeout_ms / 1000;
    until.tv_nsec += (timeout_ms % 1000) * 1000000L;
    if (until.tv_nsec >= 1000000000L) {
        until.tv_sec++;
        until.tv_nsec -= 1000000000L;
    }
    pthread_mutex_lock(&fe->lock);
    cmd.next = fe->cmds;
    fe->cmds = &cmd;
    guest_kick(fe->cmd_efd);
    while (!cmd.done)
        if (pthread_cond_timedwait(&fe->cond, &fe->lock, &until) == ETIMEDOUT)
            break;
    if (!cmd.done) {
        /* forget the command so that the guest never touches it again */
        for (struct client_cmd **pp = &fe->cmds; *pp; pp = &(*pp)->next)
            if (*pp == &cmd) {
                *pp = cmd.next;
                break;
            }
        for (unsigned i = 0; i < MAX_GCONN; i++)
            if (fe->conns[i].cmd == &cmd)
                fe->conns[i].cmd = NULL;
        pthread_mutex_unlock(&fe->lock);
        return -2;
    }
    pthread_mutex_unlock(&fe->lock);
    *rx_len = cmd.rx_len;
    *rx_hash = cmd.rx_hash;
    return cmd.status;
}

void guest_free_conns(struct frontend *fe)
{
    for (unsigned i = 0; i < MAX_GCONN; i++)
        if (fe->conns[i].used)
            free(fe->conns[i].ebuf);
}
