/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Inside the test driver's fake VM: guest memory layout, rings, the guest's
 * connections. frontend.c is the QEMU half (vhost-user), guest.c the guest
 * half (virtqueues and a vsock stack with echo/sink/source services).
 *
 * Guest memory is one 64 MiB memfd, given to the daemon as two regions
 * (0-32 MiB and 32-64 MiB, like QEMU's split around a hole) so buffers that
 * straddle 32 MiB exercise the daemon's region splitting. Rings hold 512
 * descriptors; every packet uses two (header, payload) on both queues.
 */
#ifndef VSOCKD_TEST_FRONTEND_INTERNAL_H
#define VSOCKD_TEST_FRONTEND_INTERNAL_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "abi/virtio.h"
#include "abi/vsock.h"
#include "common.h"
#include "frontend.h"

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

struct gring {
    struct virtq_desc *desc;
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

/* Our pointer to guest-physical address a (the whole memfd is mapped once). */
static inline void *gpa(struct frontend *fe, uint64_t a)
{
    return fe->mem + a;
}

/* guest.c */
void guest_post_rx(struct frontend *fe, unsigned i);
void guest_kick(int fd);
void *guest_thread(void *arg);
void guest_free_conns(struct frontend *fe);

#endif
