/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * vhost-user backend protocol (QEMU docs/interop/vhost-user.rst), the part a
 * vsock device needs: feature negotiation, memory table, vring setup, config.
 *
 * A message is a 12-byte header {request u32, flags u32, size u32} followed by
 * `size` payload bytes, with file descriptors as SCM_RIGHTS on the same
 * sendmsg. Every message is checked here, once: an unknown request, a wrong
 * payload size, a bad index or a missing fd is an error, and the caller closes
 * the connection (the frontend's error, logged with a reason).
 */
#ifndef VSOCKD_VHOST_USER_H
#define VSOCKD_VHOST_USER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "vsockd/vring.h"

#define VU_HDR_SIZE    12
#define VU_MAX_PAYLOAD 512 /* the largest message we accept (mem table: 264) */
#define VU_MAX_FDS     VU_MAX_REGIONS
#define VU_NUM_QUEUES  2 /* vsock: rx 0, tx 1 (QEMU keeps the event queue) */
#define VU_MAX_CONFIG  256

/* Requests (vhost-user.rst "Front-end message types"). */
enum {
    VU_GET_FEATURES = 1,
    VU_SET_FEATURES = 2,
    VU_SET_OWNER = 3,
    VU_RESET_OWNER = 4,
    VU_SET_MEM_TABLE = 5,
    VU_SET_VRING_NUM = 8,
    VU_SET_VRING_ADDR = 9,
    VU_SET_VRING_BASE = 10,
    VU_GET_VRING_BASE = 11,
    VU_SET_VRING_KICK = 12,
    VU_SET_VRING_CALL = 13,
    VU_SET_VRING_ERR = 14,
    VU_GET_PROTOCOL_FEATURES = 15,
    VU_SET_PROTOCOL_FEATURES = 16,
    VU_SET_VRING_ENABLE = 18,
    VU_GET_CONFIG = 24,
    VU_SET_CONFIG = 25,
};

#define VU_FLAG_VERSION    0x1u
#define VU_FLAG_REPLY      0x4u
#define VU_FLAG_NEED_REPLY 0x8u
#define VU_VRING_NOFD      0x100u
#define VU_VRING_IDX_MASK  0xffu

#define VU_F_PROTOCOL_FEATURES  (1ull << 30)
#define VU_PROTOCOL_F_REPLY_ACK (1ull << 3)
#define VU_PROTOCOL_F_CONFIG    (1ull << 9)
#define VIRTIO_F_VERSION_1_BIT  (1ull << 32)

/* b->error after vu_service saw an orderly EOF (not a protocol error). */
#define VU_EOF_REASON "frontend closed the connection"

/* What the backend asks of the device it serves. */
struct vu_device_ops {
    uint64_t features; /* virtio device feature bits offered (beyond VERSION_1) */
    /* Writes the device config space into buf (at most cap bytes); returns its size. */
    size_t (*get_config)(void *ctx, uint8_t *buf, size_t cap);
    /* A queue's kick fd is about to change: stop watching `old_fd` (-1: none). */
    void (*kick_unwatch)(void *ctx, unsigned index, int old_fd);
    /* A queue changed (kick fd, started, enabled, stopped): re-evaluate it. */
    void (*queue_changed)(void *ctx, unsigned index);
    /* The frontend reset the device or went away: drop all device state. */
    void (*reset)(void *ctx);
};

struct vu_backend {
    struct vu_mem mem;
    struct virtqueue vq[VU_NUM_QUEUES];
    uint64_t features;          /* acked virtio features */
    uint64_t protocol_features; /* acked protocol features */
    bool owner;
    bool enable_seen; /* the frontend uses SET_VRING_ENABLE (see SET_VRING_KICK) */
    const struct vu_device_ops *ops;
    void *ctx;
    /* framing state for one connection */
    uint8_t buf[VU_HDR_SIZE + VU_MAX_PAYLOAD];
    size_t have;
    int fds[VU_MAX_FDS];
    unsigned nfds;
    char error[128]; /* reason of the last failure */
};

void vu_backend_init(struct vu_backend *b, const struct vu_device_ops *ops, void *ctx);
/* Frontend gone: stop rings, close fds, unmap memory, tell the device to reset. */
void vu_backend_reset(struct vu_backend *b);

/*
 * Handles one complete message (header + payload, `len` bytes) with its fds.
 * The handler takes the fds it keeps (setting the slot to -1); the caller
 * closes the rest. On success returns 0 and, if *reply_len > 0, the reply to
 * send (header included) is in reply. Returns -1 on a protocol error, with
 * the reason in b->error.
 */
int vu_handle_message(struct vu_backend *b, const uint8_t *msg, size_t len, int *fds, unsigned nfds,
                      uint8_t *reply, size_t *reply_len);

/*
 * Reads from the non-blocking socket what the current message still needs
 * (never past its end) and handles it when complete, sending any reply.
 * Returns 1 after a message, 0 when more bytes are needed, -1 on EOF or error
 * (then the connection must be closed and vu_backend_reset called).
 */
int vu_service(struct vu_backend *b, int sock);

/* The request's name for logs ("unknown" for others). */
const char *vu_request_name(uint32_t request);

#endif
