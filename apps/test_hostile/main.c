/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * A hostile guest for tests/e2e/hostile.sh: through the real virtio-vsock
 * device (its own driver, rings.c), it sends miura-vsockd what a compromised
 * guest could, and shows what still works afterwards.
 *
 * 1. At boot, garbage packets on well-formed chains (src ports 40001..40009):
 *      40001 unknown op 99                      -> the device answers RST
 *      40002 type SEQPACKET                     -> bad packet, RST
 *      40003 len 60000 in a 60-byte buffer       -> bad packet, dropped
 *      40004 src_cid not ours (a spoofed REQUEST) -> bad packet, dropped
 *      40005 dst_cid 77 (not the host)          -> bad packet, RST
 *      40006 a 20-byte buffer (short header)    -> bad packet, dropped
 *      40007 RW on no connection                -> RST
 *      40009 len 0xffffffff                     -> bad packet, dropped
 *    It waits until the device has given back all eight chains and sent
 *    exactly the four RSTs, and says so ("hostile: garbage: ...").
 * 2. Then it serves, as a plain vsock echo on port 5000 (any number of host
 *    connections, one packet at a time), and takes commands as connections
 *    from the host to these ports:
 *      7000+K  (K a hostile_case): accepts, then writes case K into the tx
 *              ring ("hostile: case NAME sent"). The device must stop using
 *              tx (miura-vsockd logs it) and nothing else.
 *      7999    resets the device and sets it up afresh ("hostile: device
 *              reset N"), then serves again.
 *      7100    resets the device with only a device-readable chain in the rx
 *              ring ("hostile: rx case armed"): the next packet the device
 *              has for us must not be written into it.
 */
#include <stdio.h>
#include <string.h>

#include "miura/miura.h"
#include "rings.h"

#define ECHO_PORT   5000
#define CMD_BASE    7000
#define CMD_RESET   7999
#define CMD_RX_CASE 7100
#define MAX_CONNS   16
#define BUF_ALLOC   (64 * 1024)
#define DATA_MAX    (4096 - VSOCK_HDR_SIZE)

struct conn {
    bool used;
    uint32_t host_port, guest_port;
    uint32_t fwd_cnt; /* bytes of theirs we consumed */
};

static struct conn conns[MAX_CONNS];
static uint8_t data[DATA_MAX];
static bool tx_broken; /* we wrote a hostile chain: nothing more goes on tx */

static struct vsock_hdr reply_to(const struct vsock_hdr *in, uint16_t op, uint32_t fwd_cnt)
{
    return (struct vsock_hdr){
        .src_cid = hostile_cid(),
        .dst_cid = VSOCK_CID_HOST,
        .src_port = in->dst_port,
        .dst_port = in->src_port,
        .type = VSOCK_TYPE_STREAM,
        .op = op,
        .buf_alloc = BUF_ALLOC,
        .fwd_cnt = fwd_cnt,
    };
}

/* Sends, waiting for a free tx page if all are in flight. */
static void send_wait(const struct vsock_hdr *h, const void *payload, uint32_t len, uint32_t buf)
{
    while (hostile_send(h, payload, len, buf) < 0) {
        hostile_wait();
        hostile_reap_tx();
    }
}

static void reply(const struct vsock_hdr *in, uint16_t op, uint32_t fwd_cnt, const void *p,
                  uint32_t len)
{
    struct vsock_hdr h = reply_to(in, op, fwd_cnt);
    h.len = len;
    send_wait(&h, p, len, VSOCK_HDR_SIZE + len);
}

static struct conn *conn_find(const struct vsock_hdr *h)
{
    for (unsigned i = 0; i < MAX_CONNS; i++)
        if (conns[i].used && conns[i].host_port == h->src_port &&
            conns[i].guest_port == h->dst_port)
            return &conns[i];
    return NULL;
}

/* ---- 1: garbage */

struct garbage {
    uint32_t src_port;
    uint16_t op, type;
    uint64_t src_cid_delta, dst_cid; /* dst_cid 0: the host */
    uint32_t len, buf_len;
    bool rst; /* the device answers with RST */
};

static const struct garbage garbage[] = {
    {40001, 99, VSOCK_TYPE_STREAM, 0, 0, 0, VSOCK_HDR_SIZE, true},
    {40002, VSOCK_OP_REQUEST, VSOCK_TYPE_SEQPACKET, 0, 0, 0, VSOCK_HDR_SIZE, true},
    {40003, VSOCK_OP_RW, VSOCK_TYPE_STREAM, 0, 0, 60000, VSOCK_HDR_SIZE + 16, false},
    {40004, VSOCK_OP_REQUEST, VSOCK_TYPE_STREAM, 1, 0, 0, VSOCK_HDR_SIZE, false},
    {40005, VSOCK_OP_REQUEST, VSOCK_TYPE_STREAM, 0, 77, 0, VSOCK_HDR_SIZE, true},
    {40006, VSOCK_OP_REQUEST, VSOCK_TYPE_STREAM, 0, 0, 0, 20, false},
    {40007, VSOCK_OP_RW, VSOCK_TYPE_STREAM, 0, 0, 5, VSOCK_HDR_SIZE + 5, true},
    {40009, VSOCK_OP_RW, VSOCK_TYPE_STREAM, 0, 0, 0xffffffffu, VSOCK_HDR_SIZE + 8, false},
};
#define NGARBAGE (sizeof(garbage) / sizeof(garbage[0]))

static void send_garbage(void)
{
    unsigned want_rst = 0, got_rst = 0;
    bool seen[NGARBAGE] = {false};
    for (unsigned i = 0; i < NGARBAGE; i++) {
        const struct garbage *g = &garbage[i];
        struct vsock_hdr h = {
            .src_cid = hostile_cid() + g->src_cid_delta,
            .dst_cid = g->dst_cid ? g->dst_cid : VSOCK_CID_HOST,
            .src_port = g->src_port,
            .dst_port = 9,
            .len = g->len,
            .type = g->type,
            .op = g->op,
            .buf_alloc = BUF_ALLOC,
        };
        /* The lengths lie: the buffer holds what buf_len says, no more. */
        send_wait(&h, "garbage!garbage!",
                  g->buf_len > VSOCK_HDR_SIZE ? g->buf_len - VSOCK_HDR_SIZE : 0, g->buf_len);
        want_rst += g->rst;
    }
    /* A device that never answers (or an interrupt that never comes) would
     * hang the test without a word: after 30 s, say once what is missing and
     * what the device had done without telling (then wait on as before). */
    uint64_t said_at = miura_clock_ns() + 30000000000ull;
    while (hostile_tx_inflight() > 0 || got_rst < want_rst) {
        struct vsock_hdr h;
        if (hostile_poll(&h, data, sizeof(data)) == 0) {
            uint64_t now = miura_clock_ns();
            if (!said_at) {
                hostile_wait();
            } else if (now < said_at) {
                hostile_wait_ms((unsigned)((said_at - now) / 1000000) + 1);
            } else {
                unsigned before = hostile_tx_inflight();
                hostile_reap_tx();
                printf("hostile: garbage: stalled 30 s: %u packets not given back (%u more given "
                       "back without an interrupt), %u of %u RSTs\n",
                       hostile_tx_inflight(), before - hostile_tx_inflight(), got_rst, want_rst);
                said_at = 0;
            }
            continue;
        }
        unsigned i;
        for (i = 0; i < NGARBAGE; i++)
            if (garbage[i].src_port == h.dst_port)
                break;
        if (h.op == VSOCK_OP_RST && i < NGARBAGE && garbage[i].rst && !seen[i] &&
            h.src_cid == VSOCK_CID_HOST && h.src_port == 9) {
            seen[i] = true;
            got_rst++;
        } else {
            printf("hostile: unexpected packet op %u from port %u to port %u\n", h.op, h.src_port,
                   h.dst_port);
        }
    }
    printf("hostile: garbage: %u packets given back by the device, RST for %u of them (ports",
           (unsigned)NGARBAGE, got_rst);
    for (unsigned i = 0; i < NGARBAGE; i++)
        if (seen[i])
            printf(" %u", garbage[i].src_port);
    printf(")\n");
}

/* ---- 2: serving, and the commands */

static void on_request(const struct vsock_hdr *h)
{
    uint32_t port = h->dst_port;
    if (port == ECHO_PORT) {
        for (unsigned i = 0; i < MAX_CONNS; i++) {
            if (!conns[i].used) {
                conns[i] = (struct conn){true, h->src_port, port, 0};
                reply(h, VSOCK_OP_RESPONSE, 0, NULL, 0);
                return;
            }
        }
        reply(h, VSOCK_OP_RST, 0, NULL, 0);
        return;
    }
    if (port > CMD_BASE && port < CMD_BASE + HC_TX_CASES_END) {
        enum hostile_case c = (enum hostile_case)(port - CMD_BASE);
        reply(h, VSOCK_OP_RESPONSE, 0, NULL, 0); /* the host's client gets its OK */
        while (hostile_tx_inflight() > 0) {      /* that OK is on its way before the ring breaks */
            hostile_wait();
            hostile_reap_tx();
        }
        hostile_inject(c);
        tx_broken = true;
        printf("hostile: case %s sent\n", hostile_case_name(c));
        return;
    }
    reply(h, VSOCK_OP_RST, 0, NULL, 0);
}

static void on_packet(const struct vsock_hdr *h)
{
    static unsigned resets;
    if (h->src_cid != VSOCK_CID_HOST || h->dst_cid != hostile_cid() ||
        h->type != VSOCK_TYPE_STREAM) {
        printf("hostile: unexpected packet from CID %llu\n", (unsigned long long)h->src_cid);
        return;
    }
    if (h->op == VSOCK_OP_REQUEST && (h->dst_port == CMD_RESET || h->dst_port == CMD_RX_CASE)) {
        bool rx_case = h->dst_port == CMD_RX_CASE;
        memset(conns, 0, sizeof(conns)); /* the device closes them all */
        if (hostile_reset(rx_case) < 0) {
            printf("hostile: device reset failed\n");
            return;
        }
        tx_broken = false;
        if (rx_case)
            printf("hostile: rx case armed\n");
        else
            printf("hostile: device reset %u\n", ++resets);
        return;
    }
    if (tx_broken)
        return; /* nothing can be answered until the reset */
    struct conn *c = conn_find(h);
    switch (h->op) {
    case VSOCK_OP_REQUEST:
        if (c)
            reply(h, VSOCK_OP_RST, 0, NULL, 0);
        else
            on_request(h);
        break;
    case VSOCK_OP_RW:
        if (!c) {
            reply(h, VSOCK_OP_RST, 0, NULL, 0);
            break;
        }
        c->fwd_cnt += h->len;
        reply(h, VSOCK_OP_RW, c->fwd_cnt, data, h->len); /* the echo */
        break;
    case VSOCK_OP_CREDIT_REQUEST:
        if (c)
            reply(h, VSOCK_OP_CREDIT_UPDATE, c->fwd_cnt, NULL, 0);
        break;
    case VSOCK_OP_SHUTDOWN:
        if (c) {
            reply(h, VSOCK_OP_RST, c->fwd_cnt, NULL, 0);
            c->used = false;
        }
        break;
    case VSOCK_OP_RST:
        if (c)
            c->used = false;
        break;
    default: /* RESPONSE, CREDIT_UPDATE: nothing to do */
        break;
    }
}

int main(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    if (!hostile_ready()) {
        printf("hostile: no virtio-vsock device\n");
        return 1;
    }
    printf("hostile: CID %llu\n", (unsigned long long)hostile_cid());
    send_garbage();
    printf("hostile: serving on port %d\n", ECHO_PORT);
    for (;;) {
        struct vsock_hdr h;
        if (hostile_poll(&h, data, sizeof(data)) == 0) {
            hostile_wait();
            continue;
        }
        on_packet(&h);
    }
}
