/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The vsock protocol, internal interface between the protocol engine
 * (vsock_proto.c) and the socket layer (socket.c). Applications use the
 * socket API (<sys/socket.h>); the driver uses vsock_transport.h.
 *
 * One struct vsock_sock is a socket and, once connected, its connection: a
 * connection holds no buffers while it has no unread data, so an idle one
 * costs only this struct (docs/networking.md).
 *
 * Every function here is called with the net lock held (net_port.h).
 */
#ifndef MIURA_NET_VSOCK_H
#define MIURA_NET_VSOCK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/fd/fd.h"
#include "lib/list.h"
#include "net/net_port.h"
#include "net/vsock_transport.h"

#define VSOCK_BUF_DEFAULT    (64u * 1024)   /* buf_alloc default */
#define VSOCK_SNDBUF_DEFAULT (256u * 1024)  /* SO_SNDBUF default: the credit vsockd gives */
#define VSOCK_BUF_MIN        (4u * 1024)    /* SO_RCVBUF / SO_SNDBUF clamp */
#define VSOCK_BUF_MAX        (1024u * 1024) /* SO_RCVBUF / SO_SNDBUF clamp */
#define VSOCK_PKT_ALLOC      (64u * 1024)   /* largest packet allocation: 16 pages */
#define VSOCK_PKT_ALLOC_MIN  1024u          /* payload: halved down to this when memory is short */
/* payload bytes per sent packet: what fits in one allocation behind the header */
#define VSOCK_TX_PKT_MAX      (VSOCK_PKT_ALLOC - (uint32_t)offsetof(struct vsock_pkt, data))
#define VSOCK_CTRL_POOL       64    /* control packets, preallocated */
#define VSOCK_COALESCE_MAX    512u  /* rx payloads up to this are copied into the tail */
#define VSOCK_COPY_MAX        1536u /* a first payload up to this is copied off its page */
#define VSOCK_CLOSE_TIMEOUT   (2000000000ull) /* ns to wait for the peer's RST after close */
#define VSOCK_CONNECT_TIMEOUT (2000000000ull) /* ns to wait for RESPONSE */
#define VSOCK_BACKLOG_MAX     4096
#define VSOCK_EPHEMERAL_FIRST 49152u /* connect() picks local ports from here... */
#define VSOCK_EPHEMERAL_LAST  65535u /* ...to here, round robin */

/* Socket / connection states. Transitions: see vsock_proto.c. */
enum vsock_state {
    VSOCK_UNBOUND,     /* new socket */
    VSOCK_BOUND,       /* bind() done, not listening or connected */
    VSOCK_LISTEN,      /* listen(): takes REQUESTs for its port */
    VSOCK_CONNECTING,  /* REQUEST sent, waiting for RESPONSE */
    VSOCK_ESTABLISHED, /* data may flow (also: accepted-to-be children) */
    VSOCK_CLOSING,     /* closed by the app, SHUTDOWN sent, waiting for RST */
    VSOCK_CLOSED,      /* no connection any more (RST, timeout, reset) */
};

struct vsock_sock {
    struct fd_object fdo; /* the descriptor layer's part; O_NONBLOCK in its flags */
    uint32_t refs;        /* fd, table, accept queue, tx packets, running calls */
    uint8_t state;        /* enum vsock_state */
    uint8_t local_shut;   /* VSOCK_SHUTDOWN_* we sent */
    uint8_t peer_shut;    /* VSOCK_SHUTDOWN_* the peer sent */
    bool hashed;          /* in the connection table */
    bool bound;           /* in the bind table (listeners and connecting clients) */
    int err;              /* pending error (positive errno), SO_ERROR */
    uint32_t local_port, peer_port, peer_cid;
    uint32_t local_cid;          /* as bound (VMADDR_CID_ANY) or the guest's once connected */
    struct list hash_link;       /* connection table bucket (by local+peer address) */
    struct list bind_link;       /* bind table bucket (by local port) */
    struct list accept_link;     /* child: listener's accept queue */
    struct list timer_link;      /* connecting or closing: the timer list */
    uint64_t deadline;           /* of the timer, clock ns */
    struct vsock_sock *listener; /* child not yet accepted: its listener */
    /* receive side */
    struct list rxq;       /* loaned struct vsock_rx_buf, oldest first */
    uint32_t rx_bytes;     /* unread payload bytes in rxq */
    uint32_t buf_alloc;    /* our receive buffer (SO_RCVBUF), told to the peer */
    uint32_t rx_cnt;       /* payload bytes received, cumulative (wraps) */
    uint32_t fwd_cnt;      /* payload bytes consumed, cumulative (wraps) */
    uint32_t fwd_cnt_told; /* fwd_cnt in the last header we sent */
    uint32_t rx_win_end;   /* furthest fwd_cnt + buf_alloc a header of ours gave: the peer
                            * may send up to it even after SO_RCVBUF shrank (wraps) */
    /* send side */
    uint32_t peer_buf_alloc, peer_fwd_cnt; /* from the peer's last header */
    uint32_t tx_cnt;                       /* payload bytes sent, cumulative (wraps) */
    uint32_t tx_inflight;                  /* payload bytes the device has not consumed yet */
    uint32_t sndbuf;                       /* SO_SNDBUF: bound on tx_inflight */
    bool credit_requested;                 /* CREDIT_REQUEST sent, no update since */
    /* control packets that found the pool empty: sent, in this order
     * (REQUEST, RESPONSE, CREDIT_REQUEST, CREDIT_UPDATE, SHUTDOWN, RST),
     * as pool packets come back; data waits behind them */
    uint8_t ctrl_pending; /* 1 << VSOCK_OP_* */
#define VSOCK_CTRL_BEFORE_DATA ((1u << VSOCK_OP_REQUEST) | (1u << VSOCK_OP_RESPONSE))
    uint8_t ctrl_shut;     /* flags of the pending SHUTDOWN */
    struct list ctrl_link; /* on the list of sockets waiting for the pool */
    /* listener */
    uint32_t backlog, pending; /* accept queue bound and length */
    struct list accept_q;      /* children, in arrival order */
    /* timeouts for blocking calls, ns (0 = none) */
    uint64_t rcvtimeo, sndtimeo;
    struct net_waitq wq; /* readers, writers, accept and connect sleep here */
};

/* Counters (never reset). */
struct vsock_net_stats {
    uint64_t rx_packets;
    uint64_t rx_bad_len;      /* header len lies: > cap, or payload on a non-RW op */
    uint64_t rx_bad_addr;     /* not for our CID, or a CID above 32 bits */
    uint64_t rx_bad_credit;   /* RW beyond the window we gave the peer */
    uint64_t rx_unexpected;   /* op that makes no sense in the connection's state */
    uint64_t rx_coalesced;    /* payloads copied into the tail buffer */
    uint64_t rx_copied;       /* small first payloads copied off their device page */
    uint64_t rst_sent;        /* to nowhere, refused, reset */
    uint64_t backlog_dropped; /* REQUESTs refused because the backlog was full */
    uint64_t credit_updates;  /* CREDIT_UPDATE sent */
    uint64_t close_timeouts;  /* closes that the peer never answered */
    uint64_t socks;           /* struct vsock_sock alive */
    uint64_t mem_bytes;       /* bytes net has allocated (socks, tx packets) */
    uint64_t rx_bufs_held;    /* rx buffers loaned to net right now */
    uint64_t ctrl_in_use;     /* pool packets out (sending, or with the device) */
    uint64_t ctrl_deferred;   /* control packets that waited for the pool */
    uint64_t rst_dropped;     /* RST replies (no connection) dropped: the pool was empty */
    uint64_t tx_copied;       /* payload bytes send() copied into packets */
    uint64_t tx_zero_copy;    /* payload bytes sendfile() read straight into packets */
};
extern struct vsock_net_stats vsock_net_stats;

/* The attached transport, or NULL. */
extern struct vsock_transport *vsock_net_transport;

/* ---- sockets (vsock_proto.c) */
struct vsock_sock *vsock_sock_new(void);
void vsock_sock_hold(struct vsock_sock *s);
void vsock_sock_put(struct vsock_sock *s); /* the last reference frees it */

int vsock_bind(struct vsock_sock *s, uint32_t port); /* VMADDR_PORT_ANY: ephemeral */
int vsock_listen(struct vsock_sock *s, int backlog);
/* Sends REQUEST; the socket is CONNECTING afterwards. */
int vsock_connect_start(struct vsock_sock *s, uint32_t cid, uint32_t port);
/* The connect deadline passed: ETIMEDOUT, RST. */
void vsock_connect_timeout(struct vsock_sock *s);
/* Takes the oldest child off the accept queue (NULL if none); the caller
 * gets the queue's reference. */
struct vsock_sock *vsock_accept_pop(struct vsock_sock *listener);
/* Copies up to n unread bytes to buf (consuming them unless peek); gives
 * emptied buffers back and sends a credit update when the window runs low.
 * Returns the byte count (0 if nothing is queued). */
uint32_t vsock_recv_copy(struct vsock_sock *s, uint8_t *buf, uint32_t n, bool peek);
/* Payload bytes a data packet may carry now (credit, SO_SNDBUF room, no
 * RESPONSE waiting for the pool), at most VSOCK_TX_PKT_MAX: > 0, 0 if none
 * can go now, or -errno (EPIPE, ENOTCONN..., or the pending error, which
 * stays pending: the caller clears it when it reports it). */
int64_t vsock_send_room(struct vsock_sock *s);
/* Takes n bytes (at most what vsock_send_room gave) of credit and SO_SNDBUF
 * room for a packet that is being filled; unreserve gives back what was not
 * sent. Nobody else can take that room meanwhile. */
void vsock_tx_reserve(struct vsock_sock *s, uint32_t n);
void vsock_tx_unreserve(struct vsock_sock *s, uint32_t n);
/* A data packet for up to n payload bytes (n <= VSOCK_TX_PKT_MAX), or NULL
 * without memory; *cap gets what it holds (n, or less when memory is short:
 * it halves the payload, down to 1 KiB). */
struct vsock_pkt *vsock_pkt_alloc(uint32_t n, uint32_t *cap);
void vsock_pkt_free(struct vsock_pkt *p);
/* Sends p with len payload bytes, reserved before (0 < len <= p's
 * capacity); p is net's until the transport gives it back. 0, or -errno:
 * then p is freed and the reservation given back. */
int vsock_send_pkt(struct vsock_sock *s, struct vsock_pkt *p, uint32_t len);
/* Sends up to n bytes now (within credit and SO_SNDBUF), copied into one
 * packet. Returns the count (0 if none can go now) or -errno (as
 * vsock_send_room: a pending error stays pending). */
int64_t vsock_send_some(struct vsock_sock *s, const uint8_t *buf, uint32_t n);
/* Before a sender sleeps (send, sendfile, poll for POLLOUT): when what it
 * waits for is its own packets coming back (SO_SNDBUF full, or nomem: no
 * memory while they hold some), asks the transport for them promptly. */
void vsock_tx_wait_prepare(struct vsock_sock *s, bool nomem);
/* Asks the peer for credit (once until it answers). */
void vsock_request_credit(struct vsock_sock *s);
int vsock_shutdown(struct vsock_sock *s, uint32_t flags); /* VSOCK_SHUTDOWN_* */
/* The fd is gone: close the connection (RST or SHUTDOWN + close timeout). */
void vsock_release(struct vsock_sock *s);
/* SO_RCVBUF changed on a connection: tell the peer. */
void vsock_rcvbuf_changed(struct vsock_sock *s);
/* Readiness (POLL* bits, Linux values). */
short vsock_poll_mask(struct vsock_sock *s);

/* Runs the timers due at now (close and connect timeouts). Returns the next
 * deadline, 0 if none. */
uint64_t vsock_net_timers(uint64_t now);

/* ---- shared by vsock_conn.c and vsock_proto.c */
struct vsock_sock *vsock_conn_find(uint32_t local_port, uint32_t peer_cid, uint32_t peer_port);
void vsock_conn_hash(struct vsock_sock *s);  /* takes a reference */
void vsock_conn_close(struct vsock_sock *s); /* -> CLOSED, unhashed; may free s */
struct vsock_sock *vsock_bind_find(uint32_t port);
void vsock_unbind(struct vsock_sock *s);
int vsock_port_alloc(uint32_t peer_cid, uint32_t peer_port);
void vsock_wake(struct vsock_sock *s);
void vsock_timer_set(struct vsock_sock *s, uint64_t deadline);
void vsock_timers_take_due(uint64_t now, struct list *due, uint64_t *next);
void vsock_rx_discard(struct vsock_sock *s);
/* Transport reset: every connection fails with ECONNRESET. */
void vsock_conn_reset_all(void);
/* Queues a received RW payload (coalescing small ones); takes buf. */
void vsock_rx_queue(struct vsock_sock *s, struct vsock_rx_buf *buf);
/* Sends a control packet (no payload) on s, from the pool; when the pool is
 * empty it goes out as soon as one comes back. 0, or -errno (no transport,
 * device broken). */
int vsock_send_ctrl(struct vsock_sock *s, uint16_t op, uint32_t flags);
void vsock_tx_done_locked(struct vsock_pkt *p);
/* Forgets the control packets s owes (a reset transport, a new connection). */
void vsock_ctrl_forget(struct vsock_sock *s);
/* Answers a packet that has no connection with RST (never an RST). */
void vsock_send_rst_reply(const struct vsock_hdr *h);

/* Tests: counters of new connections start here, to exercise wrap-around. */
extern uint32_t vsock_net_initial_cnt;
/* Tests: the next ephemeral port connect() tries. */
extern uint32_t vsock_net_next_ephemeral;

#endif
