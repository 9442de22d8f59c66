/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * virtio-vsock wire format (virtio 1.2 §5.10.6), shared by the guest driver
 * and the host device (miura-vsockd).
 *
 * Every packet on the rx and tx virtqueues starts with this 44-byte header;
 * for VSOCK_OP_RW, `len` payload bytes follow it. All fields are
 * little-endian on the wire (virtio 1.x, §1.4); Miura only runs on
 * little-endian x86-64, so they are plain integers here, as in abi/virtio.h
 * (which also holds the device's configuration layout, struct
 * virtio_vsock_config, and its queue numbers).
 */
#ifndef MIURA_ABI_VSOCK_H
#define MIURA_ABI_VSOCK_H

#include <stdint.h>

struct vsock_hdr {
    uint64_t src_cid;
    uint64_t dst_cid;
    uint32_t src_port;
    uint32_t dst_port;
    uint32_t len;       /* payload bytes after the header */
    uint16_t type;      /* VSOCK_TYPE_* */
    uint16_t op;        /* VSOCK_OP_* */
    uint32_t flags;     /* VSOCK_SHUTDOWN_* for OP_SHUTDOWN */
    uint32_t buf_alloc; /* sender's receive buffer size for this connection */
    uint32_t fwd_cnt;   /* bytes the sender has consumed from it (cumulative, wraps) */
} __attribute__((packed));

#define VSOCK_HDR_SIZE 44
_Static_assert(sizeof(struct vsock_hdr) == VSOCK_HDR_SIZE, "vsock header is 44 bytes");

/* Well-known CIDs (virtio 1.2 §5.10.4). */
#define VSOCK_CID_HYPERVISOR 0
#define VSOCK_CID_LOCAL      1
#define VSOCK_CID_HOST       2

/* Socket types. */
#define VSOCK_TYPE_STREAM    1
#define VSOCK_TYPE_SEQPACKET 2

/* Operations (virtio 1.2 §5.10.6). */
#define VSOCK_OP_INVALID        0
#define VSOCK_OP_REQUEST        1 /* connect */
#define VSOCK_OP_RESPONSE       2 /* connect accepted */
#define VSOCK_OP_RST            3 /* connection refused or reset */
#define VSOCK_OP_SHUTDOWN       4 /* half or full close, see flags */
#define VSOCK_OP_RW             5 /* data */
#define VSOCK_OP_CREDIT_UPDATE  6 /* buf_alloc/fwd_cnt changed */
#define VSOCK_OP_CREDIT_REQUEST 7 /* ask the peer for a CREDIT_UPDATE */

/* OP_SHUTDOWN flags: the sender will not receive / send any more data. */
#define VSOCK_SHUTDOWN_RCV  1u
#define VSOCK_SHUTDOWN_SEND 2u
#define VSOCK_SHUTDOWN_BOTH (VSOCK_SHUTDOWN_RCV | VSOCK_SHUTDOWN_SEND)

/*
 * Credit (virtio 1.2 §5.10.6.3): a sender may have at most
 * peer_buf_alloc - (tx_cnt - peer_fwd_cnt) bytes in flight. All counters are
 * u32 and wrap, so the difference is computed modulo 2^32; a peer that claims
 * more consumed than was sent, or shrank its buffer, yields 0.
 */
static inline uint32_t vsock_credit_free(uint32_t peer_buf_alloc, uint32_t peer_fwd_cnt,
                                         uint32_t tx_cnt)
{
    uint32_t in_flight = tx_cnt - peer_fwd_cnt;
    return in_flight >= peer_buf_alloc ? 0 : peer_buf_alloc - in_flight;
}

#endif
