/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The vsock stream protocol (virtio 1.2 §5.10.6) between the guest stack
 * (kernel/net/vsock_proto.c, vsock_conn.c, socket.c) and miura-vsockd
 * (host/vsockd/conn.c, endpoint.c, device.c), one connection, with the
 * applications on both ends. What is modelled and proved:
 * docs/verification.md. Checked by spec/check.sh; the conformance test
 * (spec/conform.sh) replays random simulations of this model against the C.
 *
 * Each endpoint is written as its C transition table: process G is the
 * guest (socket, connection and the guest application), process H is
 * vsockd (connection, the host socket and the host client). Every event
 * is one atomic step, as in the C (net lock; vsockd's single thread).
 * Packets travel in two FIFO channels: g2h is the tx virtqueue (the guest
 * driver queues without bound; TXQ is asserted never to fill), h2g the rx
 * virtqueue (vsockd sends only into a posted rx buffer: RXBUFS of them).
 *
 * Sizes are in units (64 KiB against vsockd, 32 KiB against the guest: its
 * largest data packet is VSOCK_TX_PKT_MAX, a little under 64 KiB), which
 * makes every C threshold whole: buf_alloc (vsockd CONN_BUF_ALLOC 256 KiB,
 * the guest's SO_RCVBUF set to 128 KiB) = 4,
 * packets (VSOCK_TX_PKT_MAX, VSOCK_MAX_PKT) = 1, guest SO_SNDBUF = 1, the
 * guest's credit threshold (buf_alloc / 4) and vsockd's CONN_LOW_WATER = 1.
 * The u32 counters (rx_cnt, fwd_cnt, tx_cnt) count modulo CM and start at
 * CINIT, so they wrap within a run. Timeouts fire only when nothing else
 * can happen (the peer is stuck or gone), or at any time with
 * -DEAGER_TIMEOUTS.
 *
 * Configurations (-D), one connection each:
 *   HOST_TCP      a host client on a --publish port connects to the guest
 *   HOST_UDS      a host client on --uds sends "CONNECT <port>\n" first
 *   GUEST_CLIENT  the guest connects to a host Unix listener
 *   NO_LISTENER   ... and nobody listens on the other side
 *   HOST_STOPS    miura-vsockd stops at some point (killed; its packets in
 *                 flight are lost) and the guest application may close early
 *   GUEST_STOPS   the guest stack stops answering (hung; its device is not
 *                 reset) and the host client may close early
 *   EARLY_CLOSE   the applications shut down and close at any time
 *   EAGER_TIMEOUTS timers may fire at any time, not only when nothing moves
 *   RCVBUF_SHRINK the guest application halves SO_RCVBUF once
 *   TRANSPORT_RESET the guest's device may reset its transport (migration):
 *                 every connection fails at once, vsockd is not told
 *   HOSTILE_GUEST the device also hands the guest one arbitrary control
 *                 packet (any op but RW, any SHUTDOWN flags), at any time
 *   HOSTILE_HOST  the guest also sends vsockd one arbitrary control packet
 *                 (-DNOISE_AT=HS_xxx: only while vsockd is in that state)
 *                 (with either, a connection may hang or end early: only
 *                 the assertions are checked; they feed the conformance test)
 *   GN, HN        units each application sends (default 2)
 * Broken variants (-D), each must be rejected:
 *   BUG_FWD_CNT_RECEIVED  the guest reports bytes received as consumed
 *                         (Toro's fwd_cnt bug)
 *   BUG_NO_CREDIT_UPDATE  the guest never sends CREDIT_UPDATE when it reads
 *   BUG_HOST_NO_CREDIT    vsockd never grants credit again (no CREDIT_UPDATE
 *                         when its buffer drains, none on CREDIT_REQUEST)
 *   BUG_SHUTDOWN_BEFORE_FLUSH vsockd half-closes the host socket while
 *                         guest data is still buffered
 *   BUG_NO_CLOSE_TIMEOUT  the guest arms no close timeout (with HOST_STOPS)
 *   BUG_CLOSE_NO_ANSWER   neither end answers a SHUTDOWN while it is closing
 *   BUG_CREDIT_PINGPONG   any CREDIT_UPDATE, even one without credit, lets the
 *                         guest ask again (the C before this model: a busy
 *                         loop of requests and updates while the host reader
 *                         is slow; found with -DPROGRESS)
 *   BUG_DUP_SEND          send() may say EAGAIN although it queued the unit
 *   BUG_SHRINK_WINDOW     with RCVBUF_SHRINK: the guest drops data beyond its
 *                         new buffer that the peer sent within the old window
 *                         (the C before this model)
 *   BUG_RW_IGNORES_CREDIT vsockd reads the host socket without credit
 */

/* ---- sizes */
#define U_BUF   4 /* buf_alloc of both ends */
#define LOWW    1 /* vsockd CONN_LOW_WATER; guest buf_alloc / 4 */
#define CM      8 /* counters are modulo CM (2^32 in C) */
#define CINIT   6 /* first value of every counter */
#ifndef GN
#define GN 2
#endif
#ifndef HN
#define HN 2
#endif
#define GSNDBUF 1 /* guest SO_SNDBUF */
#define SK_CAP  1 /* host socket: units vsockd may write before the client reads */
#define SK_INCAP 2 /* host socket: units the client may write before vsockd reads */
#define RXBUFS  2
#define TXQ     10
#define RSTQ    2 /* vsockd RST queue (RST_QUEUE_SIZE 256) */
/* Applications: by default each sends all it has, then may shut down
 * writing, and closes once it read the peer's data or the end of the
 * stream (so a protocol that stops is a deadlock, not an early close);
 * -DEARLY_CLOSE lets them shut down and close at any time. */
#if defined(HOST_STOPS) || defined(GUEST_STOPS)
#define EARLY_CLOSE
#endif
#ifdef EARLY_CLOSE
#define EARLY 1
#else
#define EARLY 0
#endif

#define WRAP(x)        (((x) + 4 * CM) % CM)
#define CREDIT(ba, fwd, tx) (WRAP((tx) - (fwd)) >= (ba) -> 0 : (ba) - WRAP((tx) - (fwd)))

/* ---- wire (include/abi/vsock.h) */
#define OP_REQUEST        1
#define OP_RESPONSE       2
#define OP_RST            3
#define OP_SHUTDOWN       4
#define OP_RW             5
#define OP_CREDIT_UPDATE  6
#define OP_CREDIT_REQUEST 7
#define SH_RCV  1
#define SH_SEND 2
#define SH_BOTH 3

/* op, flags, buf_alloc, fwd_cnt, data unit (RW only) */
chan g2h = [TXQ] of { byte, byte, byte, byte, byte };
chan h2g = [RXBUFS] of { byte, byte, byte, byte, byte };

/* ---- errors the applications see (errno names in the C) */
#define E_NONE     0
#define E_RESET    1 /* ECONNRESET */
#define E_REFUSED  2 /* ECONNREFUSED */
#define E_PROTO    3 /* EPROTO */
#define E_TIMEDOUT 4 /* ETIMEDOUT */
#define E_PIPE     5 /* EPIPE */
#define E_NOTCONN  6 /* ENOTCONN */
#define E_AGAIN    7 /* EAGAIN */
#define E_IO       8 /* EIO */

/* -DPROGRESS marks the steps that make progress (an application or the
 * host client acting, a timer) for SPIN's non-progress-cycle search: a cycle
 * without one is a busy loop between the two stacks. */
#ifdef PROGRESS
#define PROG(name) ; progress_##name: skip
#else
#define PROG(name)
#endif

/* ================================================================ guest */

/* Connection states (enum vsock_state; NONE: no connection socket). */
#define GS_NONE       0
#define GS_CONNECTING 3
#define GS_ESTAB      4
#define GS_CLOSING    5
#define GS_CLOSED     6

byte gs = GS_NONE;
bit g_fd;        /* the application holds the connection's fd */
bit g_queued;    /* accepted-to-be child on the listener's queue */
bit gl_open;     /* the listener's fd is open */
byte g_lshut, g_pshut, g_err;
byte g_buf = U_BUF, g_rx_bytes, g_rx_cnt, g_fwd, g_fwd_told;
byte g_win; /* rx_win_end: the furthest fwd_cnt + buf_alloc a header of ours gave */
byte g_pbuf, g_pfwd, g_tx_cnt, g_inflight, g_txdone; /* g_txdone: consumed by the device, not yet reported */
bit g_credit_req, g_timer;
/* the guest application */
byte ga_sent, ga_recvd;
bit ga_connected, ga_send_stop, ga_recv_stop, ga_shut, ga_done, ga_error, ga_eof;
byte g_rx_next; /* ghost: unit expected in the next RW */

/* ================================================================ host */

#define HS_NONE       0
#define HS_LINE       1 /* CONN_CONNECT_LINE */
#define HS_CONNECTING 2
#define HS_ESTAB      3
#define HS_CLOSING    4
#define HS_DEAD       5 /* closed (unhashed, freed after the loop batch) */

#define P_REQUEST  1
#define P_RESPONSE 2
#define P_CREDIT   4
#define P_SHUTDOWN 8

byte hs = HS_NONE;
byte c_pend, c_shut_flags, c_gshut;
byte c_rx, c_fwd, c_lastfwd, c_tx, c_pbuf, c_pfwd, c_buflen;
bit c_eof, c_wrshut, c_fd, c_timer, c_readable, c_writable;
byte h_rsts; /* RSTs queued for packets without a connection */
/* the host socket and its client */
byte sk_in, sk_out;     /* units client -> vsockd, vsockd -> client */
bit sk_cshut, sk_cclosed;
bit ev_in, ev_out;      /* epoll edges not yet delivered */
byte hc_sent, hc_recvd, h_rx_next;
bit hc_started, hc_eof, hc_done;

/* Ghost: an abortive end happened (a timeout, a reset, a protocol error),
 * after which a stream may end early. */
bit aborted;
bit h_stopped; /* HOST_STOPS: vsockd is gone */
bit g_stopped; /* GUEST_STOPS: the guest stack is gone (hung, no device reset) */
bit noise_sent; /* HOSTILE_*: the one made-up packet went out */
bit g_treset;   /* TRANSPORT_RESET: the guest's device reset its transport */
bit stuck;      /* nothing can move, no timer is left, and not everything is done */

/* A timer fires only when a peer is gone: while both stacks run, every
 * connection ends without one. */
#if defined(EAGER_TIMEOUTS) || defined(HOSTILE_GUEST) || defined(HOSTILE_HOST) || \
    defined(TRANSPORT_RESET)
#define TIMER_EXPECTED 1
#else
#define TIMER_EXPECTED (h_stopped || g_stopped)
#endif
#define NOISE 255 /* data unit of a packet the hostile process made up */
/* A made-up packet or a one-sided reset may leave the other end waiting
 * for ever: only the assertions hold then, not the end-state check. */
#if defined(HOSTILE_GUEST) || defined(HOSTILE_HOST) || defined(TRANSPORT_RESET)
#define NO_LIVENESS
#endif

/* ---------------------------------------------------------------- guest helpers */

/* The window a header gives never moves back (a smaller SO_RCVBUF shows
 * as a smaller buf_alloc, but what the peer may already send stays ours).
 * C: (int32_t)(end - rx_win_end) > 0. Here an end moves forward by 1..U_BUF
 * (= CM / 2) or back by at most U_BUF / 2, so the halves of CM tell them apart. */
inline G_WINDOW() {
#ifndef BUG_SHRINK_WINDOW
    if
    :: WRAP(g_fwd_told + g_buf - g_win) > 0 && WRAP(g_fwd_told + g_buf - g_win) <= CM / 2 ->
        g_win = WRAP(g_fwd_told + g_buf)
    :: else
    fi
#else
    skip
#endif
}

/* send_hdr: every header carries our buf_alloc and fwd_cnt. */
inline G_SEND(op, fl) {
    assert(len(g2h) < TXQ);
#ifdef BUG_FWD_CNT_RECEIVED
    g2h!op, fl, g_buf, g_rx_cnt, 0;
    g_fwd_told = g_rx_cnt;
    printf("G out %d %d %d %d\n", op, fl, g_buf, g_rx_cnt);
#else
    g2h!op, fl, g_buf, g_fwd, 0;
    g_fwd_told = g_fwd;
    printf("G out %d %d %d %d\n", op, fl, g_buf, g_fwd);
#endif
    G_WINDOW()
}

/* vsock_send_rst_reply: an RST with no connection behind it (zero credit). */
inline G_RST_REPLY() {
    assert(len(g2h) < TXQ);
    g2h!OP_RST, 0, 0, 0, 0;
    printf("G out %d 0 0 0\n", OP_RST)
}

/* vsock_conn_close */
inline G_CLOSE() {
    gs = GS_CLOSED;
    g_timer = 0
}

inline G_STATE() {
    printf("G st %d %d %d %d %d %d %d %d %d %d %d\n", gs, g_lshut, g_pshut, g_rx_bytes, g_err,
           g_tx_cnt, g_fwd, g_pbuf, g_pfwd, g_buf, g_win)
}

/* credit_update_if_low (quarter = LOWW) */
inline G_CREDIT_UPDATE_IF_LOW() {
#ifndef BUG_NO_CREDIT_UPDATE
    if
    :: gs == GS_ESTAB && CREDIT(g_buf, g_fwd_told, g_rx_cnt) < LOWW && g_fwd != g_fwd_told &&
       (WRAP(g_fwd - g_fwd_told) >= LOWW || g_rx_bytes == 0) ->
        G_SEND(OP_CREDIT_UPDATE, 0)
    :: else
    fi
#else
    skip
#endif
}

/* vsock_send_some for one unit, and do_send's credit request */
#define G_CAN_SEND (gs == GS_ESTAB && g_err == E_NONE && !(g_lshut & SH_SEND) && !(g_pshut & SH_RCV))
#define G_CREDIT   CREDIT(g_pbuf, g_pfwd, g_tx_cnt)
#define G_WANTS_SEND (g_fd && ga_sent < GN && !ga_send_stop && gs != GS_CONNECTING)
/* recv_established: an RW of one unit fits the buffer, or the window a
 * header of ours promised (WRAP(g_win - g_rx_cnt) > U_BUF: the peer is past it) */
#ifdef BUG_SHRINK_WINDOW
#define G_RW_FITS  (g_rx_bytes < g_buf)
#else
#define G_RW_FITS  (g_rx_bytes < g_buf || WRAP(g_win - g_rx_cnt) >= 1 && WRAP(g_win - g_rx_cnt) <= U_BUF)
#endif

/* ---------------------------------------------------------------- host helpers */

inline H_STATE() {
    printf("H st %d %d %d %d %d %d %d %d %d %d\n", hs, c_pend, c_gshut, c_buflen, c_fd, c_wrshut,
           c_eof, c_rx, c_fwd, c_tx)
}

/* device_queue_rst: a full queue drops the RST (rst_dropped) */
inline H_QUEUE_RST() {
    if
    :: h_rsts < RSTQ -> h_rsts++
    :: else
    fi
}

/* conn_close(d, c, rst, why) */
inline H_CLOSE(rst) {
    c_fd = 0;
    if
    :: rst && hs != HS_LINE -> H_QUEUE_RST()
    :: else
    fi;
    hs = HS_DEAD;
    c_timer = 0;
    c_pend = 0
}

/* check_done */
inline H_CHECK_DONE() {
    if
    :: hs == HS_ESTAB && c_buflen == 0 && (c_gshut & SH_SEND) ->
        if
        :: !c_wrshut && c_fd -> c_wrshut = 1
        :: else
        fi;
        if
        :: c_gshut == SH_BOTH -> H_CLOSE(1)
        :: else ->
            if
            :: c_eof ->
                c_fd = 0;
                c_shut_flags = SH_BOTH;
                c_pend = c_pend | P_SHUTDOWN;
                hs = HS_CLOSING;
                c_timer = 1
            :: else
            fi
        fi
#ifdef BUG_SHUTDOWN_BEFORE_FLUSH
    :: hs == HS_ESTAB && c_buflen > 0 && (c_gshut & SH_SEND) && !c_wrshut && c_fd -> c_wrshut = 1
#endif
    :: else
    fi
}

/* maybe_credit_update */
inline H_MAYBE_CREDIT() {
#ifndef BUG_HOST_NO_CREDIT
    if
    :: c_fwd != c_lastfwd && U_BUF - WRAP(c_rx - c_lastfwd) < LOWW -> c_pend = c_pend | P_CREDIT
    :: else
    fi
#else
    skip
#endif
}

/* flush_host: the socket takes what fits; a short write clears writable. */
inline H_FLUSH() {
    do
    :: c_buflen > 0 && c_writable && c_fd ->
        if
        :: sk_cclosed -> H_CLOSE(1); break /* host write: EPIPE */
        :: !sk_cclosed && sk_out == SK_CAP -> c_writable = 0; break /* EAGAIN */
        :: !sk_cclosed && sk_out < SK_CAP ->
            h_moved = (c_buflen < SK_CAP - sk_out -> c_buflen : SK_CAP - sk_out);
            if
            :: h_moved < c_buflen -> c_writable = 0
            :: else
            fi;
            sk_out = sk_out + h_moved;
            c_buflen = c_buflen - h_moved;
            c_fwd = WRAP(c_fwd + h_moved)
        fi
    :: else -> break
    od;
    if
    :: hs != HS_DEAD ->
        H_MAYBE_CREDIT();
        H_CHECK_DONE()
    :: else
    fi
}

/* can_read_host */
#ifdef BUG_RW_IGNORES_CREDIT
#define H_CAN_READ (hs == HS_ESTAB && c_fd && c_readable && !c_eof && !(c_gshut & SH_RCV))
#else
#define H_CAN_READ (hs == HS_ESTAB && c_fd && c_readable && !c_eof && !(c_gshut & SH_RCV) && \
                    CREDIT(c_pbuf, c_pfwd, c_tx) > 0)
#endif
#define SK_READ_EOF (sk_cshut || sk_cclosed)

/* ================================================================ G */

proctype guest() {
    byte op, fl, ba, fw, sq, cr;
end_guest:
    do
    /* ---------------- application calls */
#ifdef GUEST_CLIENT
    :: atomic {
        !g_stopped && gs == GS_NONE && !ga_connected ->
        printf("G ev connect\n");
        ga_connected = 1;
        g_fd = 1;
        g_rx_cnt = CINIT; g_fwd = CINIT; g_fwd_told = CINIT; g_tx_cnt = CINIT;
        g_win = WRAP(CINIT + g_buf);
        g_pbuf = 0; g_pfwd = CINIT; g_credit_req = 0;
        gs = GS_CONNECTING;
        g_timer = 1;
        G_SEND(OP_REQUEST, 0);
        printf("G row connect\n");
        G_STATE()
       } PROG(g_connect)
#else
    :: atomic {
        !g_stopped && g_queued && gl_open ->
        printf("G ev accept\n");
        g_queued = 0;
        g_fd = 1;
        ga_connected = 1;
        printf("G row accept\n");
        G_STATE()
       } PROG(g_accept)
    /* the listener is closed (only after its connection was accepted, or
     * with it still queued: RST to the child) */
    :: atomic {
        !g_stopped && gl_open && (ga_connected || g_queued) ->
        printf("G ev lclose\n");
        gl_open = 0;
        if
        :: g_queued ->
            g_queued = 0;
            if
            :: gs == GS_ESTAB -> G_SEND(OP_RST, 0); aborted = 1
            :: else
            fi;
            G_CLOSE();
            printf("G row listener_close_queued\n")
        :: else -> printf("G row listener_close\n")
        fi;
        G_STATE()
       } PROG(g_lclose)
#endif
    /* send one unit (MSG_DONTWAIT); only calls that do something: a blocking
     * send would sleep instead of the others */
    :: atomic {
        !g_stopped && G_WANTS_SEND && !(G_CAN_SEND && (G_CREDIT == 0 || g_inflight >= GSNDBUF)) ->
        if
        :: g_err != E_NONE ->
            printf("G ev send err %d\n", g_err);
            g_err = E_NONE;
            ga_send_stop = 1;
            ga_error = 1;
            printf("G row send_error\n")
        :: g_err == E_NONE && ((g_lshut & SH_SEND) || gs == GS_CLOSED || (gs == GS_ESTAB && (g_pshut & SH_RCV))) ->
            printf("G ev send err %d\n", E_PIPE);
            ga_send_stop = 1;
            printf("G row send_epipe\n")
        :: G_CAN_SEND && G_CREDIT > 0 ->
            assert(g_inflight < GSNDBUF);
            printf("G ev send ok\n");
            g_inflight++;
            g_tx_cnt = WRAP(g_tx_cnt + 1);
            assert(len(g2h) < TXQ);
#ifdef BUG_FWD_CNT_RECEIVED
            g2h!OP_RW, 0, g_buf, g_rx_cnt, ga_sent;
            g_fwd_told = g_rx_cnt;
            printf("G out %d 0 %d %d\n", OP_RW, g_buf, g_rx_cnt);
#else
            g2h!OP_RW, 0, g_buf, g_fwd, ga_sent;
            g_fwd_told = g_fwd;
            printf("G out %d 0 %d %d\n", OP_RW, g_buf, g_fwd);
#endif
            G_WINDOW();
#ifdef BUG_DUP_SEND
            if
            :: ga_sent++
            :: true /* says EAGAIN although the unit went: the application sends it again */
            fi;
#else
            ga_sent++;
#endif
            printf("G row send_rw\n")
        fi;
        G_STATE()
       } PROG(g_send)
    /* ... no credit: do_send asks for some (once until it comes), EAGAIN */
    :: atomic {
        !g_stopped && G_WANTS_SEND && G_CAN_SEND && G_CREDIT == 0 && !g_credit_req ->
        printf("G ev send err %d\n", E_AGAIN);
        g_credit_req = 1;
        G_SEND(OP_CREDIT_REQUEST, 0);
        printf("G row send_credit_request\n");
        G_STATE()
       }
    /* receive one unit, or the end of the stream */
    :: atomic {
        !g_stopped && g_fd && !ga_recv_stop && gs != GS_CONNECTING &&
        (g_rx_bytes > 0 || g_err != E_NONE || gs != GS_ESTAB || (g_pshut & SH_SEND) || (g_lshut & SH_RCV)) ->
        if
        :: g_rx_bytes > 0 ->
            printf("G ev recv data\n");
            g_rx_bytes--;
            ga_recvd++;
            g_fwd = WRAP(g_fwd + 1);
            G_CREDIT_UPDATE_IF_LOW();
            printf("G row recv_data\n")
        :: g_rx_bytes == 0 && g_err != E_NONE ->
            printf("G ev recv err %d\n", g_err);
            g_err = E_NONE;
            ga_recv_stop = 1;
            ga_error = 1;
            printf("G row recv_error\n")
        :: g_rx_bytes == 0 && g_err == E_NONE ->
            printf("G ev recv eof\n");
            ga_recv_stop = 1;
            ga_eof = 1;
            /* end of stream: everything the host client sent came first,
             * unless the connection was aborted or we shut down reading */
            assert(ga_recvd == hc_sent || aborted || ga_error || (g_lshut & SH_RCV));
            printf("G row recv_eof\n")
        fi;
        G_STATE()
       } PROG(g_recv)
    /* shutdown(SHUT_WR) */
    :: atomic {
        !g_stopped && g_fd && !ga_shut && gs != GS_CONNECTING && (EARLY || ga_sent == GN || ga_send_stop) ->
        printf("G ev shut %d\n", SH_SEND);
        ga_shut = 1;
        ga_send_stop = 1;
        if
        :: gs == GS_CLOSED -> g_lshut = g_lshut | SH_SEND; printf("G row shut_closed\n")
        :: gs == GS_ESTAB -> /* the application shuts down once: always fresh */
            g_lshut = g_lshut | SH_SEND;
            G_SEND(OP_SHUTDOWN, SH_SEND);
            printf("G row shut_send\n")
        fi;
        G_STATE()
       } PROG(g_shut)
    /* close(): vsock_release */
    :: atomic {
        !g_stopped && g_fd && (EARLY || (ga_sent == GN || ga_send_stop) && (ga_recv_stop || ga_recvd == HN)) ->
        printf("G ev close\n");
        g_fd = 0;
        ga_done = 1;
        if
        :: gs == GS_CONNECTING ->
            G_SEND(OP_RST, 0);
            G_CLOSE();
            printf("G row close_connecting\n")
        :: gs == GS_ESTAB && g_pshut == SH_BOTH ->
            g_rx_bytes = 0;
            G_SEND(OP_RST, 0);
            G_CLOSE();
            printf("G row close_peer_shut\n")
        :: gs == GS_ESTAB && g_pshut != SH_BOTH ->
            g_rx_bytes = 0;
            gs = GS_CLOSING;
#ifndef BUG_NO_CLOSE_TIMEOUT
            g_timer = 1;
#endif
            if
            :: g_lshut != SH_BOTH ->
                g_lshut = SH_BOTH;
                G_SEND(OP_SHUTDOWN, SH_BOTH)
            :: else
            fi;
            printf("G row close_established\n")
        :: gs == GS_CLOSED -> printf("G row close_closed\n")
        fi;
        G_STATE()
       } PROG(g_close)
#ifdef GUEST_STOPS
    :: atomic { !g_stopped -> printf("G ev stop\n"); g_stopped = 1; aborted = 1 } PROG(g_stop)
#endif
#ifdef RCVBUF_SHRINK
    /* setsockopt(SO_RCVBUF) to half: vsock_rcvbuf_changed */
    :: atomic {
        !g_stopped && g_fd && g_buf == U_BUF ->
        printf("G ev rcvbuf %d\n", U_BUF / 2);
        g_buf = U_BUF / 2;
        if
        :: gs == GS_ESTAB -> G_SEND(OP_CREDIT_UPDATE, 0)
        :: else
        fi;
        printf("G row rcvbuf\n");
        G_STATE()
       } PROG(g_rcvbuf)
#endif
    /* the device consumed a tx payload: vsock_net_tx_done */
    :: atomic {
        !g_stopped && g_txdone > 0 ->
        printf("G ev txdone\n");
        g_txdone--;
        g_inflight--;
        printf("G row tx_done\n");
        G_STATE()
       }
#ifdef TRANSPORT_RESET
    /* the device's event queue: VIRTIO_VSOCK_EVENT_TRANSPORT_RESET */
    :: atomic {
        !g_stopped && !g_treset ->
        printf("G ev treset\n");
        g_treset = 1;
        aborted = 1;
        if
        :: gs == GS_CONNECTING || gs == GS_ESTAB || gs == GS_CLOSING ->
            g_rx_bytes = 0;
            g_err = E_RESET;
            g_pshut = SH_BOTH;
            G_CLOSE();
            printf("G row transport_reset\n")
        :: else -> printf("G row transport_reset_idle\n")
        fi;
        G_STATE()
       } PROG(g_treset)
#endif
    /* timers: vsock_net_timers */
    :: atomic {
#ifdef EAGER_TIMEOUTS
        !g_stopped && g_timer ->
#else
        timeout && !g_stopped && g_timer ->
#endif
        printf("G ev timer\n");
        assert(TIMER_EXPECTED);
        aborted = 1;
        if
        :: gs == GS_CONNECTING ->
            g_err = E_TIMEDOUT;
            G_SEND(OP_RST, 0);
            G_CLOSE();
            printf("G row connecting_timeout\n")
        :: gs == GS_CLOSING ->
            G_SEND(OP_RST, 0);
            G_CLOSE();
            printf("G row closing_timeout\n")
        fi;
        G_STATE()
       } PROG(g_timer)
    /* ---------------- a packet from the device: receive_locked */
    :: atomic {
        !g_stopped && len(h2g) > 0 ->
        h2g?op, fl, ba, fw, sq;
        printf("G ev pkt %d %d %d %d %d\n", op, fl, ba, fw, sq);
        if
        :: gs == GS_CONNECTING || gs == GS_ESTAB || gs == GS_CLOSING ->
            /* every header updates our send credit */
            cr = G_CREDIT;
            g_pbuf = ba;
            g_pfwd = fw;
            if
            :: G_CREDIT > cr -> g_credit_req = 0
            :: else
            fi;
            if
            :: gs == GS_CONNECTING ->
                if
                :: op == OP_RESPONSE ->
                    gs = GS_ESTAB;
                    g_timer = 0;
                    printf("G row connecting_response\n")
                :: op == OP_RST ->
                    g_err = E_REFUSED;
                    G_CLOSE();
                    printf("G row connecting_rst\n")
                :: else ->
                    g_err = E_PROTO;
                    aborted = 1;
                    G_SEND(OP_RST, 0);
                    G_CLOSE();
                    printf("G row connecting_other\n")
                fi
            :: gs == GS_ESTAB ->
                if
                :: op == OP_RW && !G_RW_FITS ->
                    /* beyond the credit we gave: only a hostile peer */
                    assert(sq == NOISE);
                    printf("G row established_rw_over_window\n")
                :: op == OP_RW && G_RW_FITS ->
                    /* credit: never more queued than the largest buffer offered */
                    assert(g_rx_bytes < U_BUF);
                    assert(sq == g_rx_next); /* in order, no duplicate */
                    g_rx_next++;
                    g_rx_bytes++;
                    g_rx_cnt = WRAP(g_rx_cnt + 1);
                    printf("G row established_rw\n")
                :: op == OP_CREDIT_UPDATE ->
                    /* only more credit answers a CREDIT_REQUEST (above) */
#ifdef BUG_CREDIT_PINGPONG
                    g_credit_req = 0;
#endif
                    printf("G row established_credit_update\n")
                :: op == OP_CREDIT_REQUEST ->
                    G_SEND(OP_CREDIT_UPDATE, 0);
                    printf("G row established_credit_request\n")
                :: op == OP_SHUTDOWN ->
                    g_pshut = g_pshut | (fl & SH_BOTH);
                    if
                    :: g_pshut == SH_BOTH && g_rx_bytes == 0 ->
                        G_SEND(OP_RST, 0);
                        G_CLOSE();
                        printf("G row established_shutdown_both\n")
                    :: else -> printf("G row established_shutdown\n")
                    fi
                :: op == OP_RST ->
                    if
                    :: !(g_pshut & SH_SEND) -> g_err = E_RESET; aborted = 1
                    :: else
                    fi;
                    g_pshut = SH_BOTH;
                    G_CLOSE();
                    printf("G row established_rst\n")
                :: else -> printf("G row established_unexpected\n")
                fi
            :: gs == GS_CLOSING ->
                if
                :: op == OP_RST ->
                    G_CLOSE();
                    printf("G row closing_rst\n")
                :: op == OP_SHUTDOWN ->
                    g_pshut = g_pshut | (fl & SH_BOTH);
                    if
#ifndef BUG_CLOSE_NO_ANSWER
                    :: g_pshut == SH_BOTH ->
                        G_SEND(OP_RST, 0);
                        G_CLOSE();
                        printf("G row closing_shutdown_both\n")
#endif
                    :: else -> printf("G row closing_shutdown\n")
                    fi
                :: op == OP_RW -> printf("G row closing_rw\n")
                :: op == OP_CREDIT_UPDATE || op == OP_CREDIT_REQUEST ->
                    printf("G row closing_credit\n")
                :: else -> printf("G row closing_unexpected\n")
                fi
            fi
        :: else ->
            /* no connection: a REQUEST goes to the listener */
            if
            :: op == OP_REQUEST && gl_open && !g_queued && gs == GS_NONE ->
                g_rx_cnt = CINIT; g_fwd = CINIT; g_fwd_told = CINIT; g_tx_cnt = CINIT;
                g_win = WRAP(CINIT + g_buf);
                g_pbuf = ba; g_pfwd = fw;
                gs = GS_ESTAB;
                g_queued = 1;
                G_SEND(OP_RESPONSE, 0);
                printf("G row listen_request\n")
            :: op == OP_RST -> printf("G row nowhere_rst\n")
            :: else ->
                G_RST_REPLY();
                printf("G row nowhere\n")
            fi
        fi;
        G_STATE();
        d_step { op = 0; fl = 0; ba = 0; fw = 0; sq = 0; cr = 0 } /* dead: not state */
       }
    od
}

/* ================================================================ H */

proctype host() {
    byte op, fl, ba, fw, sq, h_moved;
end_host:
    do
    /* ---------------- the host client */
#if defined(HOST_TCP) || defined(HOST_UDS)
    /* accept of a --publish (or --uds) client: conn_new + conn_start_to_guest */
    :: atomic {
        !h_stopped && !hc_started ->
        printf("H ev connect\n");
        hc_started = 1;
        c_readable = 1; c_writable = 1; c_fd = 1;
        c_rx = CINIT; c_fwd = CINIT; c_lastfwd = CINIT; c_tx = CINIT;
#ifdef HOST_UDS
        hs = HS_LINE;
        c_timer = 1;
        printf("H row uds_accept\n");
#else
        hs = HS_CONNECTING;
        c_pend = P_REQUEST;
        c_timer = 1;
        printf("H row tcp_accept\n");
#endif
        H_STATE()
       } PROG(h_connect)
#endif
#ifdef HOST_UDS
    /* the client sends its CONNECT line (endpoint_connect_line) */
    :: atomic {
        !h_stopped && hs == HS_LINE && !sk_cclosed ->
        printf("H ev line\n");
        hs = HS_CONNECTING;
        c_pend = P_REQUEST;
        c_timer = 1;
        printf("H row line_done\n");
        H_STATE()
       } PROG(h_line)
    /* ... or a line that is not "CONNECT <port>\n" */
    :: atomic {
        !h_stopped && hs == HS_LINE && !sk_cclosed ->
        printf("H ev badline\n");
        H_CLOSE(0);
        printf("H row line_bad\n");
        H_STATE()
       } PROG(h_badline)
#endif
    /* the client writes one unit */
    :: atomic {
        !h_stopped && hc_started && hc_sent < HN && !sk_cshut && !sk_cclosed && sk_in < SK_INCAP &&
        hs != HS_LINE && c_fd ->
        printf("H ev cwrite\n");
        sk_in++;
        hc_sent++;
        ev_in = c_fd;
        printf("H row client_write\n");
        H_STATE()
       } PROG(h_cwrite)
    /* the client reads one unit */
    :: atomic {
        !h_stopped && sk_out > 0 && !sk_cclosed ->
        printf("H ev cread\n");
        sk_out--;
        hc_recvd++;
        ev_out = c_fd;
        printf("H row client_read\n");
        H_STATE()
       } PROG(h_cread)
    /* the client reads the end of the stream */
    :: atomic {
        !h_stopped && hc_started && sk_out == 0 && !hc_eof && !sk_cclosed && (c_wrshut || !c_fd) && hs != HS_LINE ->
        printf("H ev ceof\n");
        hc_eof = 1;
        /* everything the guest application sent came first, unless the
         * connection was aborted */
        assert(hc_recvd == ga_sent || aborted);
        printf("H row client_eof\n");
        H_STATE()
       } PROG(h_ceof)
    /* the client shuts down writing */
    :: atomic {
        !h_stopped && hc_started && !sk_cshut && !sk_cclosed && hs != HS_LINE && (EARLY || hc_sent == HN || !c_fd) ->
        printf("H ev cshut\n");
        sk_cshut = 1;
        ev_in = c_fd;
        printf("H row client_shutdown\n");
        H_STATE()
       } PROG(h_cshut)
    /* the client closes (a --uds client may leave before its CONNECT line) */
    :: atomic {
        !h_stopped && hc_started && !sk_cclosed &&
        (EARLY || hs == HS_LINE || (hc_sent == HN || !c_fd) && (hc_eof || hc_recvd == GN)) ->
        printf("H ev cclose\n");
        sk_cclosed = 1;
        sk_out = 0;
        hc_done = 1;
        ev_in = c_fd;
        ev_out = c_fd;
        if
        :: hs == HS_LINE ->
            /* endpoint_connect_line: recv returns 0 */
            ev_in = 0; ev_out = 0;
            H_CLOSE(0);
            printf("H row line_client_left\n")
        :: else -> printf("H row client_close\n")
        fi;
        H_STATE()
       } PROG(h_cclose)
    /* epoll edges reach conn_host_event */
    :: atomic {
        !h_stopped && (ev_in || ev_out) && c_fd ->
        printf("H ev event %d %d\n", ev_in, ev_out);
        if
        :: ev_in || sk_cclosed -> c_readable = 1
        :: else
        fi;
        if
        :: ev_out || sk_cclosed -> c_writable = 1
        :: else
        fi;
        ev_in = 0;
        ev_out = 0;
        if
        :: c_buflen > 0 ->
            H_FLUSH();
            if
            :: hs == HS_DEAD && sk_cclosed -> printf("H row host_event_write_error\n")
            :: hs == HS_DEAD && !sk_cclosed -> printf("H row host_event_flushed_closed\n")
            :: hs == HS_CLOSING -> printf("H row host_event_flushed_closing\n")
            :: else -> printf("H row host_event_flush\n")
            fi
        :: else -> printf("H row host_event\n")
        fi;
        H_STATE();
        h_moved = 0
       }
    :: atomic { !h_stopped && (ev_in || ev_out) && !c_fd -> ev_in = 0; ev_out = 0 } /* no longer watched */
    /* ---------------- a tx packet from the guest: conn_guest_packet */
    :: atomic {
        !h_stopped && len(g2h) > 0 ->
        g2h?op, fl, ba, fw, sq;
        printf("H ev pkt %d %d %d %d %d\n", op, fl, ba, fw, sq);
        if
        :: op == OP_RW && sq != NOISE -> g_txdone++ /* vq_push: the guest will see its chain used */
        :: else
        fi;
        if
        :: hs == HS_CONNECTING || hs == HS_ESTAB || hs == HS_CLOSING ->
            c_pbuf = ba;
            c_pfwd = fw;
            if
            :: hs == HS_CONNECTING && (c_pend & P_REQUEST) ->
                /* our REQUEST is not out yet: nothing can answer it
                 * (recv_connecting: a stray packet, ignored) */
                printf("H row connecting_stray\n")
            :: hs == HS_CONNECTING && !(c_pend & P_REQUEST) ->
                if
                :: op == OP_RESPONSE ->
#ifdef HOST_UDS
                    if
                    :: sk_cclosed ->
                        /* "OK <port>" cannot be sent */
                        H_CLOSE(1);
                        aborted = 1;
                        printf("H row connecting_response_client_gone\n")
                    :: else ->
                        hs = HS_ESTAB;
                        c_timer = 0;
                        printf("H row connecting_response\n")
                    fi
#else
                    hs = HS_ESTAB;
                    c_timer = 0;
                    printf("H row connecting_response\n")
#endif
                :: op == OP_RST ->
                    H_CLOSE(0);
                    printf("H row connecting_rst\n")
                :: else ->
                    H_CLOSE(1);
                    aborted = 1;
                    printf("H row connecting_other\n")
                fi
            :: hs == HS_ESTAB ->
                if
                :: op == OP_RW ->
                    if
                    :: sq != NOISE ->
                        assert(sq == h_rx_next); /* in order, no duplicate */
                        h_rx_next++
                    :: else
                    fi;
                    if
                    :: c_gshut & SH_SEND ->
                        H_CLOSE(1);
                        aborted = 1;
                        printf("H row established_rw_after_shutdown\n")
                    :: !(c_gshut & SH_SEND) && c_buflen >= U_BUF ->
                        /* beyond the credit we gave: only a hostile guest */
                        assert(sq == NOISE);
                        H_CLOSE(1);
                        printf("H row established_rw_over_credit\n")
                    :: !(c_gshut & SH_SEND) && c_buflen < U_BUF ->
                        c_rx = WRAP(c_rx + 1);
                        if
                        :: !c_fd || c_wrshut ->
                            c_fwd = WRAP(c_fwd + 1);
                            printf("H row established_rw_discarded\n")
                        :: else ->
                            /* write_host */
                            if
                            :: c_buflen == 0 && c_writable && sk_cclosed ->
                                H_CLOSE(1);
                                printf("H row established_rw_write_error\n")
                            :: c_buflen == 0 && c_writable && !sk_cclosed && sk_out < SK_CAP ->
                                sk_out++;
                                c_fwd = WRAP(c_fwd + 1);
                                printf("H row established_rw_written\n")
                            :: c_buflen == 0 && c_writable && !sk_cclosed && sk_out == SK_CAP ->
                                c_writable = 0;
                                c_buflen++;
                                printf("H row established_rw_buffered\n")
                            :: c_buflen > 0 || !c_writable ->
                                c_buflen++;
                                printf("H row established_rw_buffered\n")
                            fi;
                            if
                            :: hs != HS_DEAD -> H_MAYBE_CREDIT()
                            :: else
                            fi
                        fi
                    fi
                :: op == OP_CREDIT_UPDATE -> printf("H row established_credit_update\n")
                :: op == OP_CREDIT_REQUEST ->
#ifndef BUG_HOST_NO_CREDIT
                    c_pend = c_pend | P_CREDIT;
#endif
                    printf("H row established_credit_request\n")
                :: op == OP_SHUTDOWN ->
                    c_gshut = c_gshut | (fl & SH_BOTH);
                    H_CHECK_DONE();
                    if
                    :: hs == HS_DEAD -> printf("H row established_shutdown_both\n")
                    :: hs == HS_CLOSING -> printf("H row established_shutdown_closing\n")
                    :: else -> printf("H row established_shutdown\n")
                    fi
                :: op == OP_RST ->
                    H_CLOSE(0);
                    printf("H row established_rst\n")
                :: else ->
                    H_CLOSE(1);
                    aborted = 1;
                    printf("H row established_unexpected\n")
                fi
            :: hs == HS_CLOSING ->
                if
                :: op == OP_RST ->
                    H_CLOSE(0);
                    printf("H row closing_rst\n")
#ifndef BUG_CLOSE_NO_ANSWER
                :: op == OP_SHUTDOWN ->
                    H_CLOSE(1);
                    printf("H row closing_shutdown\n")
#endif
                :: else -> printf("H row closing_ignored\n")
                fi
            fi
        :: else ->
            if
#ifdef GUEST_CLIENT
            :: op == OP_REQUEST && hs == HS_NONE ->
                /* guest_connect: the host listener at PATH_<port> */
#ifdef NO_LISTENER
                H_QUEUE_RST();
                printf("H row guest_connect_refused\n")
#else
                hc_started = 1;
                hs = HS_ESTAB;
                c_fd = 1; c_readable = 1; c_writable = 1;
                c_rx = CINIT; c_fwd = CINIT; c_lastfwd = CINIT; c_tx = CINIT;
                c_pbuf = ba; c_pfwd = fw;
                c_pend = P_RESPONSE;
                printf("H row guest_connect\n")
#endif
#endif
            :: op == OP_RST -> printf("H row nowhere_rst\n")
            :: else ->
                H_QUEUE_RST();
                printf("H row nowhere\n")
            fi
        fi;
        H_STATE();
        d_step { op = 0; fl = 0; ba = 0; fw = 0; sq = 0; h_moved = 0 }
       }
    /* ---------------- an rx buffer is free: pump_rx fills it */
    :: atomic {
        !h_stopped && len(h2g) < RXBUFS &&
        (h_rsts > 0 ||
         (hs == HS_CONNECTING || hs == HS_ESTAB || hs == HS_CLOSING) && (c_pend || H_CAN_READ)) ->
        printf("H ev emit\n");
        if
        :: h_rsts > 0 ->
            h_rsts--;
            h2g!OP_RST, 0, 0, 0, 0;
            printf("H out %d 0 0 0\n", OP_RST);
            printf("H row emit_rst\n")
        :: else ->
            /* conn_fill_rx */
            op = 0;
            fl = 0;
            if
            :: c_pend & P_REQUEST -> c_pend = c_pend & ~P_REQUEST; op = OP_REQUEST
            :: !(c_pend & P_REQUEST) && (c_pend & P_RESPONSE) -> c_pend = c_pend & ~P_RESPONSE; op = OP_RESPONSE
            :: !(c_pend & (P_REQUEST | P_RESPONSE)) && !(c_pend & P_SHUTDOWN) && H_CAN_READ ->
                /* read_host */
                if
                :: sk_in > 0 ->
                    sk_in--;
                    op = OP_RW;
                    c_tx = WRAP(c_tx + 1);
                    c_pend = c_pend & ~P_CREDIT
                :: sk_in == 0 && SK_READ_EOF ->
                    c_eof = 1;
                    c_shut_flags = c_shut_flags | SH_SEND;
                    c_pend = c_pend | P_SHUTDOWN;
                    H_CHECK_DONE();
                    if
                    :: hs == HS_CLOSING -> printf("H row host_eof_closing\n")
                    :: else -> printf("H row host_eof\n")
                    fi
                :: sk_in == 0 && !SK_READ_EOF -> c_readable = 0 /* EAGAIN */
                fi
            :: else
            fi;
            if
            :: op == 0 && hs != HS_DEAD && (c_pend & P_SHUTDOWN) ->
                c_pend = c_pend & ~P_SHUTDOWN;
                op = OP_SHUTDOWN;
                fl = c_shut_flags
            :: op == 0 && hs != HS_DEAD && !(c_pend & P_SHUTDOWN) && (c_pend & P_CREDIT) ->
                c_pend = c_pend & ~P_CREDIT;
                op = OP_CREDIT_UPDATE
            :: else
            fi;
            if
            :: op != 0 ->
                c_lastfwd = c_fwd;
                if
                :: op == OP_RW ->
                    /* the credit the guest gave */
#ifndef BUG_RW_IGNORES_CREDIT
                    assert(CREDIT(c_pbuf, c_pfwd, WRAP(c_tx - 1)) > 0);
#endif
                    h2g!op, fl, U_BUF, c_fwd, hc_sent - sk_in - 1
                :: else -> h2g!op, fl, U_BUF, c_fwd, 0
                fi;
                printf("H out %d %d %d %d\n", op, fl, U_BUF, c_fwd);
                printf("H row emit_%d\n", op)
            :: else -> printf("H row emit_nothing\n")
            fi
        fi;
        H_STATE();
        d_step { op = 0; fl = 0; h_moved = 0 }
       }
#ifdef HOST_STOPS
    /* vsockd is killed: nothing on the host answers any more */
    :: atomic { !h_stopped -> printf("H ev stop\n"); h_stopped = 1; aborted = 1 } PROG(h_stop)
#endif
    /* ---------------- timers: conn_timeouts */
    :: atomic {
#ifdef EAGER_TIMEOUTS
        !h_stopped && c_timer ->
#else
        timeout && !h_stopped && c_timer ->
#endif
        printf("H ev timer\n");
        assert(TIMER_EXPECTED);
        aborted = 1;
        if
        :: hs == HS_LINE -> H_CLOSE(0); printf("H row line_timeout\n")
        :: hs == HS_CONNECTING -> H_CLOSE(1); printf("H row connecting_timeout\n")
        :: hs == HS_CLOSING -> H_CLOSE(1); printf("H row closing_timeout\n")
        fi;
        H_STATE()
       } PROG(h_timer)
    od
}

#ifdef HOSTILE_GUEST
/* One packet the guest cannot expect from vsockd. (No RW: its data would
 * join the stream whenever the guest has room by the time it arrives.) */
proctype noise_to_guest() {
    byte op, fl;
end_noise:
    do
    :: atomic {
        !noise_sent && len(h2g) < RXBUFS ->
        noise_sent = 1;
            if
            :: op = 0
#ifdef GUEST_CLIENT
            :: op = OP_REQUEST /* (to a listener it would start a second connection) */
#endif
            :: op = OP_RESPONSE
            :: op = OP_RST
            :: op = OP_SHUTDOWN
            :: op = OP_CREDIT_UPDATE
            :: op = OP_CREDIT_REQUEST
            :: op = 99
            fi;
            if
            :: op == OP_SHUTDOWN -> if :: fl = SH_RCV :: fl = SH_SEND :: fl = SH_BOTH fi
            :: else -> fl = 0
            fi;
        aborted = 1;
        h2g!op, fl, U_BUF, c_lastfwd, NOISE
       }
    od
}
#endif

#ifdef HOSTILE_HOST
/* One packet vsockd cannot expect from the guest (no RW, as above). */
#ifdef NOISE_AT
#define NOISE_WHEN (hs == NOISE_AT)
#else
#define NOISE_WHEN 1
#endif
proctype noise_to_host() {
    byte op, fl;
end_noise:
    do
    :: atomic {
        !noise_sent && len(g2h) < TXQ && !h_stopped && NOISE_WHEN ->
        noise_sent = 1;
            if
            :: op = 0
            :: op = OP_REQUEST
            :: op = OP_RESPONSE
            :: op = OP_RST
            :: op = OP_SHUTDOWN
            :: op = OP_CREDIT_UPDATE
            :: op = OP_CREDIT_REQUEST
            :: op = 99
            fi;
            if
            :: op == OP_SHUTDOWN -> if :: fl = SH_RCV :: fl = SH_SEND :: fl = SH_BOTH fi
            :: else -> fl = 0
            fi;
        aborted = 1;
        g2h!op, fl, g_buf, g_fwd_told, NOISE
       }
    od
}
#endif

/* Nothing can happen any more: both ends are done and nothing is left. */
#define ALL_DONE ((g_stopped || !g_fd && !g_queued && (gs == GS_NONE || gs == GS_CLOSED) && \
                                 len(h2g) == 0) && \
                  (h_stopped || (hs == HS_NONE || hs == HS_DEAD) && \
                                (sk_cclosed || !hc_started) && len(g2h) == 0 && h_rsts == 0))

/* Everything back to the start (-DCONFORM: one simulation, many traces). */
inline RESET_ALL() {
    gs = GS_NONE; g_fd = 0; g_queued = 0; g_lshut = 0; g_pshut = 0; g_err = 0;
    g_buf = U_BUF; g_rx_bytes = 0; g_rx_cnt = 0; g_fwd = 0; g_fwd_told = 0; g_win = 0;
    g_pbuf = 0; g_pfwd = 0; g_tx_cnt = 0; g_inflight = 0; g_txdone = 0;
    g_credit_req = 0; g_timer = 0;
    ga_sent = 0; ga_recvd = 0; ga_connected = 0; ga_send_stop = 0; ga_recv_stop = 0;
    ga_shut = 0; ga_done = 0; ga_error = 0; ga_eof = 0; g_rx_next = 0;
    hs = HS_NONE; c_pend = 0; c_shut_flags = 0; c_gshut = 0; c_rx = 0; c_fwd = 0;
    c_lastfwd = 0; c_tx = 0; c_pbuf = 0; c_pfwd = 0; c_buflen = 0; c_eof = 0;
    c_wrshut = 0; c_fd = 0; c_timer = 0; c_readable = 0; c_writable = 0; h_rsts = 0;
    sk_in = 0; sk_out = 0; sk_cshut = 0; sk_cclosed = 0; ev_in = 0; ev_out = 0;
    hc_sent = 0; hc_recvd = 0; h_rx_next = 0; hc_started = 0; hc_eof = 0; hc_done = 0;
    aborted = 0; h_stopped = 0; g_stopped = 0; noise_sent = 0; g_treset = 0;
#ifndef GUEST_CLIENT
    gl_open = 1
#else
    skip
#endif
}

proctype watchdog() {
    /* a stuck state with no timer left to fire is a deadlock */
#ifdef CONFORM
end_watch:
    do
    :: atomic {
        timeout && (!g_timer || g_stopped) && (!c_timer || h_stopped) ->
#ifndef NO_LIVENESS
        stuck = !ALL_DONE;
        assert(!stuck);
#endif
        /* channels may hold packets only after a hostile run or a stop */
        do
        :: h2g?_, _, _, _, _
        :: g2h?_, _, _, _, _
        :: empty(h2g) && empty(g2h) -> break
        od;
        RESET_ALL();
        printf("T reset\n")
       }
    od
#else
    atomic { timeout && (!g_timer || g_stopped) && (!c_timer || h_stopped) -> stuck = !ALL_DONE; assert(!stuck) }
#endif
}

init {
    atomic {
#ifndef GUEST_CLIENT
        gl_open = 1;
#endif
        run guest();
        run host();
#ifdef HOSTILE_GUEST
        run noise_to_guest();
#endif
#ifdef HOSTILE_HOST
        run noise_to_host();
#endif
#if defined(CONFORM) || !defined(NO_LIVENESS)
        run watchdog()
#endif
    }
}
