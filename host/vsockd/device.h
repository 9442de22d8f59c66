/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The vsock device: the guest's rx/tx virtqueues on one side, host streams
 * (Unix and TCP sockets) on the other, one `vsock_conn` per stream.
 *
 * Data paths, both without an intermediate copy in the common case:
 *   guest -> host: a tx RW packet's payload is written from guest memory to
 *     the host socket; what the socket does not take is kept in the
 *     connection's buffer, which the credit we grant (CONN_BUF_ALLOC) bounds.
 *   host -> guest: the host socket is read straight into an rx chain behind
 *     the header, never more than the guest's credit allows.
 *
 * Flow control (virtio 1.2 §5.10.6.3) with cumulative u32 counters:
 *   rx_cnt   bytes of RW payload received from the guest
 *   fwd_cnt  of those, bytes written to the host socket (what we report)
 *   tx_cnt   bytes of RW payload sent to the guest
 *   peer_buf_alloc/peer_fwd_cnt  the guest's last report
 * A slow host socket stops fwd_cnt, so the guest runs out of credit; a guest
 * that gives no credit stops our reads of the host socket.
 *
 * Backpressure (no client dropped while there is room): at max_conns the host
 * listeners stop being watched (common/gate.h), so new clients wait in the
 * kernel's listen queue; a guest whose accept queue is full answers RST to
 * our REQUEST, and a host client is then retried (RETRY_*) on a port the guest
 * has accepted on before, instead of being closed at once.
 */
#ifndef VSOCKD_DEVICE_H
#define VSOCKD_DEVICE_H

#include <stdbool.h>
#include <stdint.h>

#include "abi/vsock.h"
#include "common/gate.h"
#include "common/loop.h"
#include "common/port_line.h"
#include "vsockd/vhost_user.h"

/* What a watched fd is (struct watch's kind): which handler gets its events. */
enum watch_kind {
    WATCH_VU_LISTEN,  /* vhost-user listening socket */
    WATCH_VU_CONN,    /* the frontend's (QEMU's) connection */
    WATCH_KICK,       /* a queue's kick eventfd; obj = device, index in `index` */
    WATCH_UDS_LISTEN, /* --uds listener (host -> guest via CONNECT) */
    WATCH_TCP_LISTEN, /* a --publish listener */
    WATCH_HOST_CONN,  /* a host-side stream of a connection */
    WATCH_TIMER,
    WATCH_SIGNAL,
    WATCH_CTL_LISTEN, /* --control listener (common/control.h) */
    WATCH_CTL_CLIENT, /* a control client */
};

#define CONN_BUF_ALLOC     (256u * 1024) /* credit granted per connection */
#define CONN_LOW_WATER     (64u * 1024)  /* send CREDIT_UPDATE when the guest sees less free */
#define VSOCK_MAX_PKT      (64u * 1024)  /* payload per rx packet we build */
#define RST_QUEUE_SIZE     256           /* RSTs for packets without a connection */
#define CONNECT_TIMEOUT_MS 10000         /* CONNECT line and guest RESPONSE */
#define CLOSE_TIMEOUT_MS   2000          /* guest RST after our SHUTDOWN */
#define TX_BUDGET          512           /* tx chains per device_run before yielding */
#define ACCEPT_BATCH       64            /* accepts per listener wake-up (level-triggered) */
#define ACCEPT_HOLD_MS     100           /* out of descriptors: accepting stops this long */
/* A guest's full accept queue: host clients wait and retry (retry.c). */
#define RETRY_FIRST_MS   10  /* the first probe after a refusal */
#define RETRY_GAP_MAX_MS 500 /* the probe gap doubles up to this */
#define RETRY_RELEASE    2   /* waiters let through per RESPONSE */
#define RETRY_PORTS      64  /* guest ports remembered as accepting */
#define PREOPEN_PORTS    64  /* guest ports with a pool (PUBLISH_MAX) */
#define RX_BUDGET        512 /* rx packets per device_run before yielding */
/* Pre-opened connections (--preopen N, pool.c). */
#define PREOPEN_MAX       64    /* connections kept ready per published guest port */
#define POOL_GAP_FIRST_MS 100   /* the first pause after a refusal or an early drop */
#define POOL_GAP_MAX_MS   2000  /* the pause doubles up to this */
#define POOL_TRUST_MS     1000  /* a pooled connection the guest keeps this long is sound */
#define POOL_MAX_AGE_MS   30000 /* an unpaired one is closed (and replaced) at this age */
#define POOL_MIN_AGE_MS   1000  /* the shortest age learnt from a guest's idle timeout */

enum conn_state {
    CONN_CONNECT_LINE, /* Unix client, waiting for "CONNECT <port>\n" */
    CONN_CONNECTING,   /* REQUEST queued or sent to the guest, awaiting RESPONSE */
    CONN_ESTABLISHED,
    CONN_CLOSING, /* host side closed, SHUTDOWN(both) sent, awaiting RST */
};

enum conn_kind {
    CONN_FROM_UDS,   /* host client on --uds, hybrid CONNECT handshake */
    CONN_FROM_TCP,   /* host client on a --publish listener */
    CONN_FROM_GUEST, /* guest connected to PATH_<port> */
};

/*
 * MIURA_VSOCKD_TRACE=1 (off by default): when each step of a host client's
 * connection happened, in microseconds; at its close the gaps between the
 * steps are added to the device's sums, which `stats` then reports (trace_*)
 * to tell where a connection's life goes (bench/http).
 */
enum trace_step {
    TR_ACCEPT,     /* accepted (a --uds client: its CONNECT line read) */
    TR_REQUEST,    /* our REQUEST written to the rx ring */
    TR_RESPONSE,   /* the guest's RESPONSE taken from the tx ring */
    TR_TO_GUEST,   /* the first host data written to the rx ring */
    TR_FROM_GUEST, /* the first guest data taken from the tx ring */
    TR_GUEST_SHUT, /* the guest's first SHUTDOWN */
    TR_CLOSED,     /* closed on our side */
    TR_STEPS
};

/* Control packets waiting for an rx buffer. */
#define PEND_REQUEST  1u
#define PEND_RESPONSE 2u
#define PEND_CREDIT   4u
#define PEND_SHUTDOWN 8u

struct vsock_conn {
    struct watch w; /* host stream; w.fd == -1 once closed */
    enum conn_state state;
    enum conn_kind kind;
    uint32_t host_port, guest_port;
    bool hashed;         /* in the device's table (has ports) */
    bool readable;       /* edge-triggered: host socket may have data */
    bool writable;       /* edge-triggered: host socket may take data */
    bool host_eof;       /* read returned 0: the host sends no more */
    bool host_fin;       /* EPOLLRDHUP/HUP/ERR seen: read until 0 or an error */
    bool host_wr_shut;   /* we did shutdown(SHUT_WR) on the host socket */
    bool dead;           /* unlinked, freed after the current loop batch */
    uint32_t guest_shut; /* VSOCK_SHUTDOWN_* received from the guest */
    uint32_t pending;    /* PEND_* */
    uint32_t shut_flags; /* flags of the pending SHUTDOWN */
    uint32_t rx_cnt, fwd_cnt, last_fwd_sent;
    uint32_t tx_cnt, peer_buf_alloc, peer_fwd_cnt;
    uint8_t *buf; /* guest->host bytes the socket did not take: ring of CONN_BUF_ALLOC */
    uint32_t buf_head, buf_len;
    struct port_line line; /* the CONNECT line of a --uds client */
    uint64_t deadline_ms;  /* 0: none */
    uint64_t refused_at;   /* when the guest first refused it (0: never); guest-initiated:
                            * when the host listener's full queue first refused it */
    bool waiting;          /* in its port's wait queue (retry.c), no REQUEST out */
    bool retried;          /* its REQUEST out is a retry (counted in its port's in_flight) */
    struct vsock_conn *wait_next;
    struct vsock_conn *hash_next;
    struct vsock_conn *rxq_next; /* waiting to put something on the rx queue */
    bool in_rxq;
    struct vsock_conn *all_prev, *all_next;
    struct vsock_conn *dead_next;
    uint64_t trace[TR_STEPS]; /* µs on the monotonic clock, 0: not yet (MIURA_VSOCKD_TRACE) */
    /* A pre-opened connection not paired with a client yet (pool.c): its
     * pool while connecting or ready (no host stream, w.fd == -1), else NULL. */
    struct preopen_pool *pool;
    struct vsock_conn *pool_next; /* the pool's ready list, newest first */
    uint64_t pool_since;          /* when the guest accepted it */
    /* Paired from this pool: its refill waits until the guest answers the
     * client (its first data, SHUTDOWN or RST) or the connection ends. */
    struct preopen_pool *owed;
};

/*
 * Pre-opened connections to one published guest port (--preopen N): up to N
 * kept established (REQUEST sent, RESPONSE taken) with no client, so that a
 * TCP client is paired with one at once instead of waiting for the guest's
 * handshake. Refilled in the background; see pool.c.
 */
struct preopen_pool {
    uint32_t guest_port;
    unsigned ready;                /* established and unpaired */
    unsigned opening;              /* REQUEST out, no answer yet */
    unsigned held;                 /* taken by clients the guest has not answered yet */
    struct vsock_conn *ready_head; /* newest first: the first to be paired */
    unsigned refusals;             /* REQUESTs refused or unanswered in a row */
    unsigned drops;                /* connections the guest ended within POOL_TRUST_MS, in a row */
    uint64_t next_at;              /* no new REQUEST before (0: none pending) */
    uint64_t trust_at;             /* on probation: when the one ready counts as sound */
    uint64_t max_age_ms;           /* unpaired ones older than this are closed and replaced */
};

struct rst_entry {
    uint32_t host_port, guest_port;
};

/* An RST owed to the guest for a connection the daemon closed (conn_close):
 * never dropped, held until an rx buffer takes it (device_owe_rst). */
struct rst_owed {
    struct rst_owed *next;
    uint32_t host_port, guest_port;
};

struct vsock_dev;

/* Host-side actions the device needs; main provides real ones, tests fakes. */
struct vsock_host_ops {
    /* Connects to the guest->host listener of `port`; returns an fd or -1. */
    int (*connect_guest_port)(struct vsock_dev *d, uint32_t port);
    uint64_t (*now_ms)(void);
};

#define CONN_HASH_SIZE 1024

/*
 * A guest port that has accepted a connection (sent RESPONSE): a RST there
 * means its accept queue is full, and refused host clients wait here, oldest
 * first, while one probe at a time tests for room (retry.c).
 */
struct retry_port {
    uint32_t port;
    struct vsock_conn *head, *tail; /* waiting clients, in arrival order */
    unsigned waiting;
    unsigned in_flight;   /* retried REQUESTs not answered yet */
    uint64_t probe_at;    /* when the head tries again (0: not scheduled) */
    uint32_t gap;         /* the next probe's backoff, ms */
    uint64_t used;        /* last RESPONSE or refusal (for replacing the stalest) */
    uint64_t accepted_at; /* last RESPONSE */
    bool stalled;         /* a waiter timed out with no RESPONSE meanwhile: refuse at once */
};

/* What `stats` on the control socket reports, besides active and queued. */
struct vsockd_stats {
    uint64_t accepted;        /* host clients accepted (--uds and --publish) */
    uint64_t established;     /* of those, carried to the guest (RESPONSE) */
    uint64_t refused;         /* host clients closed before the guest took them */
    uint64_t guest_resets;    /* RSTs the guest answered to our REQUESTs */
    uint64_t retries;         /* REQUESTs sent again after such a RST */
    uint64_t guest_connects;  /* guest-initiated connections carried to the host */
    uint64_t guest_refused;   /* guest-initiated ones refused (no listener, limit) */
    uint64_t preopened;       /* pre-opened connections the guest accepted */
    uint64_t preopen_paired;  /* clients paired with a pre-opened connection */
    uint64_t preopen_misses;  /* clients of a pooled port that found none ready */
    uint64_t preopen_dropped; /* unpaired ones the guest closed or sent data on */
    uint64_t preopen_retired; /* unpaired ones closed by us at their age limit */
    uint64_t preopen_refused; /* pre-opening REQUESTs refused or unanswered */
    unsigned peak;            /* most connections open at once */
};

struct vsock_dev {
    struct vu_backend vu;
    uint64_t guest_cid;
    const struct vsock_host_ops *host;
    struct watch kick[VU_NUM_QUEUES];
    bool tx_kicked; /* the tx ring may have packets */
    bool rx_more;   /* the rx pump stopped on its budget */
    bool rings_ran; /* a ring has started since the last stop of both */
    unsigned max_conns;
    unsigned nconns;
    struct accept_gate gate; /* the host listeners, watched while nconns < max_conns */
    struct vsockd_stats stats;
    struct log_limit refused_log; /* "client refused", at most once a second */
    struct log_limit denied_log;  /* a guest connect to PATH_P denied, at most once in 10 s */
    struct retry_port ports[RETRY_PORTS];
    unsigned nports;
    struct vsock_conn *hash[CONN_HASH_SIZE];
    struct vsock_conn *all; /* every connection, for timeouts and reset */
    struct vsock_conn *rxq_head, *rxq_tail;
    struct rst_entry rst[RST_QUEUE_SIZE]; /* replies to packets of no connection: droppable */
    unsigned rst_head, rst_len;
    struct rst_owed *owed_head, *owed_last; /* RSTs owed for connections closed: kept */
    unsigned nowed; /* their number, counted against max_conns until written */
    struct vsock_conn *dead;
    uint32_t next_host_port;
    /* counters, for logs and tests */
    uint64_t bad_packets, rst_dropped, conns_total;
    uint64_t bytes_buffered;     /* guest data the host socket did not take at once: copied */
    bool trace;                  /* MIURA_VSOCKD_TRACE: connection steps timed */
    uint64_t trace_conns;        /* connections that went through every step */
    uint64_t trace_us[TR_STEPS]; /* [s]: sum of the gaps step s-1 -> s, µs */
    unsigned preopen;            /* --preopen N: pool size per published port (0: off) */
    struct preopen_pool pools[PREOPEN_PORTS];
    unsigned npools;
    unsigned pool_ready; /* the pools' ready connections, all ports */
    bool resetting;      /* device_reset_conns is closing everything */
};

extern const struct vu_device_ops vsock_vu_ops;

void device_init(struct vsock_dev *d, uint64_t guest_cid, unsigned max_conns,
                 const struct vsock_host_ops *host);
/* Closes every connection (host streams see an orderly close). */
void device_reset_conns(struct vsock_dev *d);
/* Handles queue work: tx packets, then fills rx; signals the guest; frees dead conns. */
void device_run(struct vsock_dev *d);
/* True if device_run stopped early and wants to run again. */
bool device_has_work(const struct vsock_dev *d);
void device_kick(struct vsock_dev *d, unsigned index);
void device_timer(struct vsock_dev *d, uint64_t now_ms);
/* The earliest connection deadline, retry or accept hold (now_ms clock), or
 * 0 when none is set: the timer is armed for it only, so an idle daemon never
 * wakes. */
uint64_t device_next_deadline(const struct vsock_dev *d);

/* The "key value" lines of `stats` (control socket); returns their length. */
size_t device_stats_text(struct vsock_dev *d, char *buf, size_t len);

/* Handles one tx chain: parse, check, dispatch. Exposed for tests and fuzzing. */
void device_handle_tx_chain(struct vsock_dev *d, const struct vq_chain *chain);
/* Parses a packet header out of a tx chain; false if the chain is malformed. */
bool vsock_parse_tx(const struct vq_chain *chain, struct vsock_hdr *hdr);

/* Connections (conn.c). */
struct vsock_conn *conn_new(struct vsock_dev *d, int fd, enum conn_kind kind);
struct vsock_conn *conn_lookup(struct vsock_dev *d, uint32_t host_port, uint32_t guest_port);
void conn_hash(struct vsock_dev *d, struct vsock_conn *c, uint32_t host_port, uint32_t guest_port);
uint32_t conn_alloc_host_port(struct vsock_dev *d, uint32_t guest_port);
/* Starts a host->guest connection to guest_port (REQUEST goes out). */
void conn_start_to_guest(struct vsock_dev *d, struct vsock_conn *c, uint32_t guest_port);
void conn_guest_packet(struct vsock_dev *d, const struct vsock_hdr *h, const struct iovec *payload,
                       unsigned npayload);
void conn_host_event(struct vsock_dev *d, struct vsock_conn *c, uint32_t events);
/* Fills an rx chain with this connection's next packet; returns bytes or 0. */
uint32_t conn_fill_rx(struct vsock_dev *d, struct vsock_conn *c, const struct vq_chain *chain);
bool conn_wants_rx(const struct vsock_conn *c);
void conn_update_rxq(struct vsock_dev *d, struct vsock_conn *c);
/* Notes when step s first happened, if tracing. */
void conn_trace(struct vsock_dev *d, struct vsock_conn *c, enum trace_step s);
/* Drops the connection: closes the host stream; RST to the guest if `rst`. */
void conn_close(struct vsock_dev *d, struct vsock_conn *c, bool rst, const char *why);
void conn_free_dead(struct vsock_dev *d);
void conn_timeouts(struct vsock_dev *d, uint64_t now_ms);
/* An RST for a packet of no connection: dropped (counted) when RST_QUEUE_SIZE wait. */
void device_queue_rst(struct vsock_dev *d, uint32_t host_port, uint32_t guest_port);
/* The RST owed for a connection the daemon closes: the guest may be blocked on
 * that connection (a sender waiting for credit), so it is never dropped; until
 * an rx buffer takes it, it holds a place under max_conns. */
void device_owe_rst(struct vsock_dev *d, uint32_t host_port, uint32_t guest_port);
uint32_t conn_peer_credit(const struct vsock_conn *c);
/* Sends (again) the REQUEST of a host client in CONNECTING. */
void conn_send_request(struct vsock_dev *d, struct vsock_conn *c);

/*
 * Waiting for a guest's full accept queue (retry.c). A host client the guest
 * refuses (RST to REQUEST) on a port that has accepted before joins that
 * port's wait queue instead of being closed; so does a new client while the
 * queue is not empty (it would be refused too, and must not overtake). One
 * probe REQUEST at a time tests for room, RETRY_FIRST_MS after a refusal and
 * then at a gap doubling up to RETRY_GAP_MAX_MS; each RESPONSE lets the next
 * RETRY_RELEASE waiters try at once. A client still waiting when its connect
 * timeout (CONNECT_TIMEOUT_MS from its first REQUEST) runs out is closed; if
 * the guest accepted nobody on that port during its wait, the port counts as
 * having lost its listener and refuses at once until it accepts again. A port
 * that never accepted (no listener) refuses at once.
 */
/* Before a host client's first REQUEST: true if it joined a wait queue. */
bool retry_wait_first(struct vsock_dev *d, struct vsock_conn *c);
/* On RESPONSE to a host client's REQUEST. */
void retry_accepted(struct vsock_dev *d, struct vsock_conn *c);
/* On RST to a host client's REQUEST: true if it waits (else close it). */
bool retry_refused(struct vsock_dev *d, struct vsock_conn *c);
/* On closing a host client in CONNECTING (takes it off its queue). */
void retry_forget(struct vsock_dev *d, struct vsock_conn *c);
/* Probes that are due, and waiters whose time is up. */
void retry_timers(struct vsock_dev *d, uint64_t now_ms);
/* The earliest probe (now_ms clock), 0 if none. */
uint64_t retry_next_deadline(const struct vsock_dev *d);
/* A reset guest: forgets every port (no connection is left waiting). */
void retry_reset(struct vsock_dev *d);
/* True while host clients wait for the guest port's accept queue. */
bool retry_port_waiting(const struct vsock_dev *d, uint32_t port);

/*
 * Pre-opened connections (pool.c). With --preopen N each published guest
 * port keeps up to N connections established before any client comes; a TCP
 * client takes the newest at once (pool_take), and the pool is refilled from
 * device_run. An unpaired connection on which the guest sends anything but
 * credit (data, SHUTDOWN, RST) is dropped, never paired: its bytes must not
 * reach a later client. Refusals and early drops pause the refill
 * (POOL_GAP_FIRST_MS doubling to POOL_GAP_MAX_MS) with one connection at a
 * time until one holds; unpaired ones are closed and replaced at their age
 * limit (POOL_MAX_AGE_MS, or half the age at which the guest ended one).
 * Unpaired connections count in `active` and --max-conns, but not in the
 * accept gate: a client may always take a ready one.
 */
/* The pool of guest_port, made if need be (at most PREOPEN_PORTS); NULL if full. */
struct preopen_pool *pool_add(struct vsock_dev *d, uint32_t guest_port);
/* The newest ready connection, taken out of the pool, or NULL (a miss). */
struct vsock_conn *pool_take(struct vsock_dev *d, struct preopen_pool *p);
/* Pairs a taken connection with the host stream fd: its bytes go to the guest now. */
void pool_pair(struct vsock_dev *d, struct vsock_conn *c, int fd);
/* Opens what the pools lack (device_run). */
void pool_refill(struct vsock_dev *d, uint64_t now_ms);
/* The guest's RESPONSE to a pool connection's REQUEST. */
void pool_established(struct vsock_dev *d, struct vsock_conn *c);
/* A guest packet on an unpaired established connection: true if it was dropped for it. */
bool pool_guest_packet(struct vsock_dev *d, struct vsock_conn *c, const struct vsock_hdr *h);
/* An unpaired connection at its age limit: SHUTDOWN to the guest, out of the pool. */
void pool_retire(struct vsock_dev *d, struct vsock_conn *c);
/* The guest answered a client paired from a pool (or it ended): its refill may go. */
void pool_release(struct vsock_conn *c);
/* conn_close of a connection still in its pool. */
void pool_conn_closed(struct vsock_dev *d, struct vsock_conn *c);
/* A host client on guest_port was accepted by the guest: a paused pool tries now. */
void pool_port_answered(struct vsock_dev *d, uint32_t guest_port);
/* The earliest refill time (now_ms clock), 0 if none. */
uint64_t pool_next_deadline(const struct vsock_dev *d);
/* After device_reset_conns: the pools are empty, their pauses forgotten. */
void pool_reset(struct vsock_dev *d);
/* The connections the accept gate counts: all but the ready unpaired ones. */
unsigned device_gate_count(const struct vsock_dev *d);

#endif
