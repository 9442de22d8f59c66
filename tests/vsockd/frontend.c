/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * A vhost-user frontend and a small guest vsock stack, for testing
 * miura-vsockd without QEMU or a guest kernel.
 *
 * Guest memory is one 64 MiB memfd, given to the daemon as two regions
 * (0-32 MiB and 32-64 MiB, like QEMU's split around a hole) so buffers that
 * straddle 32 MiB exercise the daemon's region splitting. Rings hold 512
 * descriptors; every packet uses two (header, payload) on both queues.
 */
#include "frontend.h"

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

#include "abi/vsock.h"
#include "common.h"

#define MEM_SIZE  (64u << 20)
#define REGION1   (32u << 20)
#define QNUM      512
#define NBUF      256 /* buffers per queue: two descriptors each */
#define BUF_DATA  65536
#define RX_DESC   0x1000
#define RX_AVAIL  0x4000
#define RX_USED   0x5000
#define TX_DESC   0x8000
#define TX_AVAIL  0xb000
#define TX_USED   0xc000
#define RX_HDRS   0x10000
#define TX_HDRS   0x20000
#define RX_DATA   0x100000
#define TX_DATA   0x1800000 /* 24 MiB + 256 * 64 KiB: crosses the region edge */
#define MAX_GCONN 512
#define GBUF_ECHO (256u * 1024)
#define GBUF_BULK (1024u * 1024)

enum {
    VU_GET_FEATURES = 1,
    VU_SET_FEATURES,
    VU_SET_OWNER,
    VU_RESET_OWNER,
    VU_SET_MEM_TABLE,
    VU_SET_VRING_NUM = 8,
    VU_SET_VRING_ADDR,
    VU_SET_VRING_BASE,
    VU_GET_VRING_BASE,
    VU_SET_VRING_KICK,
    VU_SET_VRING_CALL,
    VU_SET_VRING_ERR,
    VU_GET_PROTOCOL_FEATURES,
    VU_SET_PROTOCOL_FEATURES,
    VU_SET_VRING_ENABLE = 18,
    VU_GET_CONFIG = 24
};

enum role { ROLE_ECHO, ROLE_SINK, ROLE_SOURCE, ROLE_CLIENT };
enum gstate { G_CONNECTING, G_OPEN };

struct client_cmd {
    uint32_t port;
    uint64_t seed, len;
    bool done;
    int status;
    uint64_t rx_len, rx_hash;
    struct client_cmd *next;
};

struct gconn {
    bool used;
    uint32_t lport, pport;
    enum role role;
    enum gstate state;
    bool need_request, need_response, need_credit;
    bool peer_shut_send, shut_sent;
    uint32_t buf_alloc, rx_cnt, fwd_cnt, last_fwd_sent;
    uint32_t tx_cnt, peer_buf_alloc, peer_fwd_cnt;
    uint8_t *ebuf; /* echo ring */
    uint32_t ehead, elen;
    uint64_t seed, send_total, send_off;
    bool send_known;
    uint8_t nbuf[8];
    unsigned nlen;
    struct stream_hash rh;
    uint8_t reply[16];
    unsigned reply_off;
    bool reply_ready;
    struct client_cmd *cmd;
};

struct vq_desc {
    uint64_t addr;
    uint32_t len;
    uint16_t flags;
    uint16_t next;
};

struct gring {
    struct vq_desc *desc;
    uint16_t *avail;
    uint8_t *used;
    uint16_t avail_idx, last_used;
    int kick, call;
};

struct frontend {
    int sock, memfd;
    uint8_t *mem;
    struct gring rx, tx;
    uint64_t cid;
    int tx_free[NBUF];
    unsigned ntx_free;
    struct gconn conns[MAX_GCONN];
    struct {
        uint32_t lport, pport;
    } rst[256];
    unsigned nrst;
    uint32_t next_port;
    pthread_t thread;
    pthread_mutex_t lock;
    pthread_cond_t cond;
    int cmd_efd;
    struct client_cmd *cmds;
    volatile bool stop;
    unsigned long errors;
    unsigned long stray_rsts; /* RSTs for connections the guest does not have */
};

/* ---- vhost-user messages ---- */

static int vu_send(struct frontend *fe, uint32_t req, uint32_t flags, const void *payload,
                   uint32_t size, const int *fds, unsigned nfds)
{
    uint8_t buf[12 + 512];
    uint32_t hdr[3] = {req, 1u | flags, size};
    union {
        char c[CMSG_SPACE(8 * sizeof(int))];
        struct cmsghdr a;
    } ctl;
    memcpy(buf, hdr, 12);
    memcpy(buf + 12, payload, size);
    struct iovec iov = {buf, 12 + size};
    struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1};
    if (nfds) {
        mh.msg_control = ctl.c;
        mh.msg_controllen = CMSG_SPACE(nfds * sizeof(int));
        struct cmsghdr *c = CMSG_FIRSTHDR(&mh);
        c->cmsg_level = SOL_SOCKET;
        c->cmsg_type = SCM_RIGHTS;
        c->cmsg_len = CMSG_LEN(nfds * sizeof(int));
        memcpy(CMSG_DATA(c), fds, nfds * sizeof(int));
    }
    return sendmsg(fe->sock, &mh, MSG_NOSIGNAL) == (ssize_t)(12 + size) ? 0 : -1;
}

static int vu_recv(struct frontend *fe, uint32_t req, void *payload, uint32_t size)
{
    uint32_t hdr[3];
    if (recv(fe->sock, hdr, 12, MSG_WAITALL) != 12 || hdr[0] != req || hdr[2] != size ||
        !(hdr[1] & 4))
        return -1;
    return size == 0 || recv(fe->sock, payload, size, MSG_WAITALL) == (ssize_t)size ? 0 : -1;
}

static int vu_u64(struct frontend *fe, uint32_t req, uint64_t v)
{
    return vu_send(fe, req, 0, &v, 8, NULL, 0);
}

static int vu_state(struct frontend *fe, uint32_t req, uint32_t index, uint32_t num)
{
    uint32_t s[2] = {index, num};
    return vu_send(fe, req, 0, s, 8, NULL, 0);
}

static int vu_fd(struct frontend *fe, uint32_t req, uint32_t index, int fd)
{
    uint64_t v = index;
    return vu_send(fe, req, 0, &v, 8, &fd, 1);
}

int fe_send_raw(struct frontend *fe, const void *buf, size_t len)
{
    return send(fe->sock, buf, len, MSG_NOSIGNAL) == (ssize_t)len ? 0 : -1;
}

bool fe_wait_closed(struct frontend *fe, int timeout_ms)
{
    struct pollfd p = {fe->sock, POLLIN, 0};
    char c;
    if (poll(&p, 1, timeout_ms) != 1)
        return false;
    return recv(fe->sock, &c, 1, MSG_DONTWAIT) == 0;
}

/* ---- guest rings ---- */

static void *gpa(struct frontend *fe, uint64_t a)
{
    return fe->mem + a;
}

static void ring_publish(struct gring *r, uint16_t head)
{
    r->avail[2 + r->avail_idx % QNUM] = head;
    r->avail_idx++;
    __atomic_store_n(&r->avail[1], r->avail_idx, __ATOMIC_RELEASE);
}

static void kick(int fd)
{
    uint64_t one = 1;
    if (write(fd, &one, 8) < 0) {
    }
}

static void post_rx(struct frontend *fe, unsigned i)
{
    struct vq_desc *d = fe->rx.desc;
    d[2 * i] = (struct vq_desc){RX_HDRS + 64 * i, VSOCK_HDR_SIZE, 1 | 2, (uint16_t)(2 * i + 1)};
    d[2 * i + 1] = (struct vq_desc){RX_DATA + (uint64_t)BUF_DATA * i, BUF_DATA, 2, 0};
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
    struct vq_desc *d = fe->tx.desc;
    if (len) {
        uint64_t at = TX_DATA + (uint64_t)BUF_DATA * i;
        if (data)
            memcpy(gpa(fe, at), data, len);
        else
            pattern_fill(gpa(fe, at), c->seed, c->send_off, len);
        d[2 * i] = (struct vq_desc){TX_HDRS + 64 * i, VSOCK_HDR_SIZE, 1, (uint16_t)(2 * i + 1)};
        d[2 * i + 1] = (struct vq_desc){at, len, 0, 0};
    } else {
        d[2 * i] = (struct vq_desc){TX_HDRS + 64 * i, VSOCK_HDR_SIZE, 0, 0};
    }
    ring_publish(&fe->tx, (uint16_t)(2 * i));
    return true;
}

void fe_post_bad_tx(struct frontend *fe)
{
    pthread_mutex_lock(&fe->lock);
    if (fe->ntx_free > 0) {
        unsigned i = (unsigned)fe->tx_free[--fe->ntx_free];
        fe->tx.desc[2 * i] = (struct vq_desc){1ull << 40, VSOCK_HDR_SIZE, 0, 0};
        ring_publish(&fe->tx, (uint16_t)(2 * i));
        kick(fe->tx.kick);
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
        fe->tx.desc[2 * i] = (struct vq_desc){at, desc_len, 0, 0};
        ring_publish(&fe->tx, (uint16_t)(2 * i));
        kick(fe->tx.kick);
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
            post_rx(fe, i);
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
        kick(fe->rx.kick);
    if (tx_posted)
        kick(fe->tx.kick);
}

static void *guest_thread(void *arg)
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
    kick(fe->cmd_efd);
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

/* ---- setup ---- */

static int setup_ring(struct frontend *fe, unsigned q, struct gring *r, uint64_t desc,
                      uint64_t avail, uint64_t used)
{
    struct {
        uint32_t index, flags;
        uint64_t desc, used, avail, log;
    } a = {q,
           0,
           (uint64_t)(uintptr_t)gpa(fe, desc),
           (uint64_t)(uintptr_t)gpa(fe, used),
           (uint64_t)(uintptr_t)gpa(fe, avail),
           0};
    r->desc = gpa(fe, desc);
    r->avail = gpa(fe, avail);
    r->used = gpa(fe, used);
    r->kick = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    r->call = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (r->kick < 0 || r->call < 0 || vu_state(fe, VU_SET_VRING_NUM, q, QNUM) ||
        vu_state(fe, VU_SET_VRING_BASE, q, 0) ||
        vu_send(fe, VU_SET_VRING_ADDR, 0, &a, sizeof(a), NULL, 0) ||
        vu_fd(fe, VU_SET_VRING_KICK, q, r->kick) || vu_fd(fe, VU_SET_VRING_CALL, q, r->call) ||
        vu_state(fe, VU_SET_VRING_ENABLE, q, 1))
        return -1;
    return 0;
}

struct frontend *fe_start(const char *socket_path, char *err, size_t errlen)
{
    struct frontend *fe = calloc(1, sizeof(*fe));
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    struct timeval tv = {5, 0};
    uint64_t features, pf, ack;
    const char *what = "socket";
    fe->sock = fe->memfd = fe->cmd_efd = -1;
    fe->rx.kick = fe->rx.call = fe->tx.kick = fe->tx.call = -1;
    pthread_mutex_init(&fe->lock, NULL);
    pthread_cond_init(&fe->cond, NULL);
    fe->next_port = 40000;
    snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", socket_path);
    fe->sock = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fe->sock < 0 || connect(fe->sock, (struct sockaddr *)&sa, sizeof(sa)) < 0)
        goto fail;
    setsockopt(fe->sock, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    what = "feature negotiation";
    if (vu_send(fe, VU_GET_FEATURES, 0, NULL, 0, NULL, 0) ||
        vu_recv(fe, VU_GET_FEATURES, &features, 8) || !(features & (1ull << 32)) ||
        !(features & (1ull << 30)) || vu_u64(fe, VU_SET_FEATURES, (1ull << 32) | (1ull << 30)) ||
        vu_send(fe, VU_GET_PROTOCOL_FEATURES, 0, NULL, 0, NULL, 0) ||
        vu_recv(fe, VU_GET_PROTOCOL_FEATURES, &pf, 8) || !(pf & (1ull << 9)) ||
        vu_u64(fe, VU_SET_PROTOCOL_FEATURES, pf & ((1ull << 9) | (1ull << 3))) ||
        vu_send(fe, VU_SET_OWNER, 0, NULL, 0, NULL, 0))
        goto fail;
    what = "GET_CONFIG";
    uint8_t cfg[12 + 8] = {0};
    uint32_t ch[3] = {0, 8, 0};
    memcpy(cfg, ch, 12);
    if (vu_send(fe, VU_GET_CONFIG, 0, cfg, sizeof(cfg), NULL, 0) ||
        vu_recv(fe, VU_GET_CONFIG, cfg, sizeof(cfg)))
        goto fail;
    memcpy(&fe->cid, cfg + 12, 8);
    what = "guest memory";
    fe->memfd = memfd_create("guest-ram", MFD_CLOEXEC);
    if (fe->memfd < 0 || ftruncate(fe->memfd, MEM_SIZE) < 0)
        goto fail;
    fe->mem = mmap(NULL, MEM_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, fe->memfd, 0);
    if (fe->mem == MAP_FAILED) {
        fe->mem = NULL;
        goto fail;
    }
    struct {
        uint32_t n, pad;
        uint64_t r[2][4];
    } mt = {2,
            0,
            {{0, REGION1, (uint64_t)(uintptr_t)fe->mem, 0},
             {REGION1, MEM_SIZE - REGION1, (uint64_t)(uintptr_t)fe->mem + REGION1, REGION1}}};
    int fds[2] = {fe->memfd, fe->memfd};
    what = "SET_MEM_TABLE";
    if (vu_send(fe, VU_SET_MEM_TABLE, 8 /* NEED_REPLY */, &mt, sizeof(mt), fds, 2) ||
        vu_recv(fe, VU_SET_MEM_TABLE, &ack, 8) || ack != 0)
        goto fail;
    what = "ring setup";
    if (setup_ring(fe, 0, &fe->rx, RX_DESC, RX_AVAIL, RX_USED) ||
        setup_ring(fe, 1, &fe->tx, TX_DESC, TX_AVAIL, TX_USED))
        goto fail;
    for (unsigned i = 0; i < NBUF; i++) {
        post_rx(fe, i);
        fe->tx_free[fe->ntx_free++] = (int)i;
    }
    kick(fe->rx.kick);
    fe->cmd_efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (fe->cmd_efd < 0 || pthread_create(&fe->thread, NULL, guest_thread, fe))
        goto fail;
    return fe;
fail:
    snprintf(err, errlen, "%s failed (%s)", what, strerror(errno));
    fe->stop = true;
    fe->thread = 0;
    fe_stop(fe);
    return NULL;
}

uint64_t fe_config_cid(struct frontend *fe)
{
    return fe->cid;
}

void fe_stop(struct frontend *fe)
{
    fe->stop = true;
    if (fe->thread)
        pthread_join(fe->thread, NULL);
    int fds[] = {fe->sock,    fe->memfd,   fe->cmd_efd, fe->rx.kick,
                 fe->rx.call, fe->tx.kick, fe->tx.call};
    for (unsigned i = 0; i < sizeof(fds) / sizeof(fds[0]); i++)
        if (fds[i] >= 0)
            close(fds[i]);
    for (unsigned i = 0; i < MAX_GCONN; i++)
        if (fe->conns[i].used)
            free(fe->conns[i].ebuf);
    if (fe->mem)
        munmap(fe->mem, MEM_SIZE);
    free(fe);
}

unsigned long fe_errors(struct frontend *fe)
{
    return fe->errors;
}
