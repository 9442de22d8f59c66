/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The socket API (DESIGN §3): socket/bind/listen/accept/connect/send/recv/
 * shutdown/getsockname/getpeername/setsockopt/getsockopt/poll/fcntl over
 * the vsock protocol, with Linux's error semantics. Blocking calls sleep on
 * the socket's wait queue and are woken by packets (or by the timers).
 *
 * Descriptors come from the descriptor layer (lib/fd), which dispatches
 * close, read, write and poll of a socket to the ops below (fstat reports
 * S_IFSOCK); its O_NONBLOCK is the descriptor's status flag (fcntl).
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/vm_sockets.h>
#include <poll.h>
#include <stdarg.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>

#include "lib/fd/fd.h"
#include "lib/posix_result.h"
#include "net/socket.h"
#include "net/vsock.h"

#define NS_PER_SEC  1000000000ull
#define NS_PER_USEC 1000ull

static int sock_close(struct fd_object *o);
static const struct fd_kind sock_kind = {sock_close, S_IFSOCK | 0777};

static struct vsock_sock *sock_of(struct fd_object *o)
{
    return container_of(o, struct vsock_sock, fdo);
}

/* The socket at fd: 0 and *s; -EBADF if fd is not open, -ENOTSOCK if it is
 * not a socket. Net lock held. */
static int sock_at(int fd, struct vsock_sock **s)
{
    struct fd_object *o = fd_lookup(fd);

    if (!o)
        return -EBADF;
    if (o->kind != &sock_kind)
        return -ENOTSOCK;
    *s = sock_of(o);
    return 0;
}

/* Gives s a descriptor, which takes the caller's reference: the number,
 * or -EMFILE (the reference stays the caller's). */
static int sock_install(struct vsock_sock *s)
{
    s->fdo.kind = &sock_kind;
    return fd_install(&s->fdo);
}

static uint64_t deadline_after(uint64_t timeo_ns)
{
    return timeo_ns ? net_clock_ns() + timeo_ns : 0;
}

/* Checks a caller's struct sockaddr_vm at the edge. */
static int addr_get(const struct sockaddr *addr, socklen_t len, struct sockaddr_vm *out)
{
    if (!addr || len < sizeof(struct sockaddr_vm))
        return -EINVAL;
    memcpy(out, addr, sizeof(*out));
    if (out->svm_family != AF_VSOCK)
        return -EAFNOSUPPORT;
    return 0;
}

static void addr_put(struct sockaddr *addr, socklen_t *len, uint32_t cid, uint32_t port)
{
    struct sockaddr_vm a;
    memset(&a, 0, sizeof(a));
    a.svm_family = AF_VSOCK;
    a.svm_cid = cid;
    a.svm_port = port;
    if (addr && len) {
        socklen_t n = *len < sizeof(a) ? *len : (socklen_t)sizeof(a);
        memcpy(addr, &a, n);
    }
    if (len)
        *len = sizeof(a);
}

/* ---- the calls, with the net lock held and a reference on s */

static int do_bind(struct vsock_sock *s, const struct sockaddr *addr, socklen_t len)
{
    struct sockaddr_vm a;
    int rc = addr_get(addr, len, &a);
    if (rc < 0)
        return rc;
    if (a.svm_cid != VMADDR_CID_ANY &&
        (!vsock_net_transport || a.svm_cid != (uint32_t)vsock_net_transport->guest_cid))
        return -EADDRNOTAVAIL;
    rc = vsock_bind(s, a.svm_port);
    if (rc == 0)
        s->local_cid = a.svm_cid;
    return rc;
}

static int do_connect(struct vsock_sock *s, const struct sockaddr *addr, socklen_t len)
{
    struct sockaddr_vm a;
    int rc = addr_get(addr, len, &a);
    if (rc < 0)
        return rc;
    if (a.svm_cid == VMADDR_CID_ANY || a.svm_port == VMADDR_PORT_ANY)
        return -EINVAL;
    if (a.svm_cid == VMADDR_CID_LOCAL ||
        (vsock_net_transport && a.svm_cid == (uint32_t)vsock_net_transport->guest_cid))
        return -ENETUNREACH; /* no loopback */
    rc = vsock_connect_start(s, a.svm_cid, a.svm_port);
    if (rc < 0)
        return rc;
    if (s->fdo.flags & O_NONBLOCK)
        return -EINPROGRESS;
    uint64_t deadline = net_clock_ns() + VSOCK_CONNECT_TIMEOUT;
    while (s->state == VSOCK_CONNECTING) {
        if (net_wait(&s->wq, deadline) == -ETIMEDOUT && net_clock_ns() >= deadline)
            vsock_connect_timeout(s);
    }
    if (s->state == VSOCK_ESTABLISHED)
        return 0;
    int e = s->err ? s->err : ECONNREFUSED;
    s->err = 0;
    return -e;
}

static int do_accept(struct vsock_sock *l, struct sockaddr *addr, socklen_t *len, int flags)
{
    if (flags & ~(SOCK_NONBLOCK | SOCK_CLOEXEC))
        return -EINVAL;
    uint64_t deadline = deadline_after(l->rcvtimeo);
    for (;;) {
        if (l->state != VSOCK_LISTEN)
            return -EINVAL;
        if (l->pending) {
            /* The oldest child gets a number first: without one it stays
             * queued. Then the queue's reference goes to the fd. */
            struct vsock_sock *c = list_entry(l->accept_q.next, struct vsock_sock, accept_link);
            int fd = sock_install(c);
            if (fd < 0)
                return fd;
            vsock_accept_pop(l);
            if (flags & SOCK_NONBLOCK)
                c->fdo.flags |= O_NONBLOCK;
            addr_put(addr, len, c->peer_cid, c->peer_port);
            return fd;
        }
        if (l->fdo.flags & O_NONBLOCK)
            return -EAGAIN;
        if (net_wait(&l->wq, deadline) == -ETIMEDOUT)
            return -EAGAIN;
    }
}

static bool connected_once(const struct vsock_sock *s)
{
    return s->state == VSOCK_ESTABLISHED || s->state == VSOCK_CLOSED;
}

static ssize_t do_recv(struct vsock_sock *s, uint8_t *buf, size_t n, int flags)
{
    bool nonblock = (s->fdo.flags & O_NONBLOCK) || (flags & MSG_DONTWAIT);
    bool peek = (flags & MSG_PEEK) != 0;
    uint64_t deadline = deadline_after(s->rcvtimeo);
    size_t done = 0;
    if (!connected_once(s))
        return -ENOTCONN;
    if (!n)
        return 0;
    for (;;) {
        if (s->rx_bytes) {
            size_t want = n - done > UINT32_MAX ? UINT32_MAX : n - done;
            done += vsock_recv_copy(s, buf + done, (uint32_t)want, peek);
            if (done == n || peek || !(flags & MSG_WAITALL))
                return (ssize_t)done;
            continue;
        }
        if (s->err) {
            if (done)
                return (ssize_t)done; /* the error comes with the next call */
            int e = s->err;
            s->err = 0;
            return -e;
        }
        if (s->state != VSOCK_ESTABLISHED || (s->peer_shut & VSOCK_SHUTDOWN_SEND) ||
            (s->local_shut & VSOCK_SHUTDOWN_RCV))
            return (ssize_t)done; /* end of stream */
        if (nonblock)
            return done ? (ssize_t)done : -EAGAIN;
        if (net_wait(&s->wq, deadline) == -ETIMEDOUT)
            return done ? (ssize_t)done : -EAGAIN;
    }
}

/* What a send that stops on err returns: the bytes it sent (err, if it is
 * the connection's pending one, stays for the next call), else err. */
static int64_t sent_or_error(struct vsock_sock *s, size_t done, int64_t err)
{
    if (done)
        return (int64_t)done;
    if (err == -s->err)
        s->err = 0;
    return err;
}

static ssize_t do_send(struct vsock_sock *s, const uint8_t *buf, size_t n, int flags)
{
    bool nonblock = (s->fdo.flags & O_NONBLOCK) || (flags & MSG_DONTWAIT);
    uint64_t deadline = deadline_after(s->sndtimeo);
    size_t done = 0;
    for (;;) {
        size_t want = n - done > UINT32_MAX ? UINT32_MAX : n - done;
        int64_t r = vsock_send_some(s, buf + done, (uint32_t)want);
        bool nomem = r == -ENOMEM && s->tx_inflight;
        if (nomem)
            r = 0; /* memory comes back with the packets in flight */
        if (r < 0)
            return sent_or_error(s, done, r);
        done += (size_t)r;
        if (done == n)
            return (ssize_t)done;
        if (r > 0) {
            deadline = deadline_after(s->sndtimeo); /* SO_SNDTIMEO: since the last progress */
            continue;
        }
        if (!vsock_credit_free(s->peer_buf_alloc, s->peer_fwd_cnt, s->tx_cnt))
            vsock_request_credit(s);
        if (nonblock)
            return done ? (ssize_t)done : -EAGAIN;
        vsock_tx_wait_prepare(s, nomem);
        if (net_wait(&s->wq, deadline) == -ETIMEDOUT)
            return done ? (ssize_t)done : -EAGAIN;
    }
}

/* Not inlined (nor setsockopt below): cold, and inlined they took 80 B of
 * the web server's image, which its stat trust needed (session 13). */
__attribute__((noinline)) static int timeval_to_ns(const void *val, socklen_t len, uint64_t *ns)
{
    struct timeval tv;
    if (!val || len < sizeof(tv))
        return -EINVAL;
    memcpy(&tv, val, sizeof(tv));
    if (tv.tv_usec < 0 || tv.tv_usec >= 1000000)
        return -EDOM;
    if (tv.tv_sec < 0)
        *ns = 1; /* as Linux: a negative timeout expires at once */
    else if ((uint64_t)tv.tv_sec > UINT64_MAX / NS_PER_SEC - 1)
        *ns = 0; /* beyond any uptime: forever */
    else
        *ns = (uint64_t)tv.tv_sec * NS_PER_SEC + (uint64_t)tv.tv_usec * NS_PER_USEC;
    return 0;
}

static int int_opt(const void *val, socklen_t len, int *out)
{
    if (!val || len < sizeof(int))
        return -EINVAL;
    memcpy(out, val, sizeof(int));
    return 0;
}

static uint32_t buf_clamp(int v)
{
    if (v < (int)VSOCK_BUF_MIN)
        return VSOCK_BUF_MIN;
    if ((unsigned)v > VSOCK_BUF_MAX)
        return VSOCK_BUF_MAX;
    return (uint32_t)v;
}

static int do_setsockopt(struct vsock_sock *s, int level, int name, const void *val, socklen_t len)
{
    int v, rc;
    if (level != SOL_SOCKET)
        return -ENOPROTOOPT;
    switch (name) {
    case SO_RCVTIMEO:
        return timeval_to_ns(val, len, &s->rcvtimeo);
    case SO_SNDTIMEO:
        return timeval_to_ns(val, len, &s->sndtimeo);
    case SO_RCVBUF:
        if ((rc = int_opt(val, len, &v)) < 0)
            return rc;
        s->buf_alloc = buf_clamp(v);
        vsock_rcvbuf_changed(s);
        return 0;
    case SO_SNDBUF:
        if ((rc = int_opt(val, len, &v)) < 0)
            return rc;
        s->sndbuf = buf_clamp(v);
        vsock_wake(s);
        return 0;
    case SO_REUSEADDR:
    case SO_KEEPALIVE:
        return int_opt(val, len, &v);
    default:
        return -ENOPROTOOPT;
    }
}

static int put_int(void *val, socklen_t *len, int v)
{
    if (!val || !len || *len < sizeof(int))
        return -EINVAL;
    memcpy(val, &v, sizeof(v));
    *len = sizeof(v);
    return 0;
}

static int put_timeval(void *val, socklen_t *len, uint64_t ns)
{
    struct timeval tv;
    if (!val || !len || *len < sizeof(tv))
        return -EINVAL;
    tv.tv_sec = (time_t)(ns / NS_PER_SEC);
    tv.tv_usec = (suseconds_t)(ns % NS_PER_SEC / NS_PER_USEC);
    memcpy(val, &tv, sizeof(tv));
    *len = sizeof(tv);
    return 0;
}

static int do_getsockopt(struct vsock_sock *s, int level, int name, void *val, socklen_t *len)
{
    if (level != SOL_SOCKET)
        return -ENOPROTOOPT;
    switch (name) {
    case SO_RCVTIMEO:
        return put_timeval(val, len, s->rcvtimeo);
    case SO_SNDTIMEO:
        return put_timeval(val, len, s->sndtimeo);
    case SO_RCVBUF:
        return put_int(val, len, (int)s->buf_alloc);
    case SO_SNDBUF:
        return put_int(val, len, (int)s->sndbuf);
    case SO_TYPE:
        return put_int(val, len, SOCK_STREAM);
    case SO_ERROR: {
        int rc = put_int(val, len, s->err);
        if (rc == 0)
            s->err = 0;
        return rc;
    }
    case SO_REUSEADDR:
    case SO_KEEPALIVE:
        return put_int(val, len, 0);
    default:
        return -ENOPROTOOPT;
    }
}

/* ---- the POSIX surface: lock, reference, call, errno */

#define SOCK_CALL(fd, expr)         \
    ({                              \
        uint64_t f_ = net_lock();   \
        struct vsock_sock *s;       \
        long rc_ = sock_at(fd, &s); \
        if (rc_ == 0) {             \
            vsock_sock_hold(s);     \
            rc_ = (expr);           \
            vsock_sock_put(s);      \
        }                           \
        net_unlock(f_);             \
        rc_;                        \
    })

int LIBC_NAME(socket)(int domain, int type, int protocol)
{
    if (domain != AF_VSOCK)
        return (int)posix_result(-EAFNOSUPPORT);
    if ((type & ~(SOCK_NONBLOCK | SOCK_CLOEXEC)) != SOCK_STREAM)
        return (int)posix_result(-ESOCKTNOSUPPORT);
    if (protocol != 0)
        return (int)posix_result(-EPROTONOSUPPORT);
    uint64_t f = net_lock();
    long rc = -ENOMEM;
    struct vsock_sock *s = vsock_sock_new();
    if (s) {
        if (type & SOCK_NONBLOCK)
            s->fdo.flags |= O_NONBLOCK;
        rc = sock_install(s);
        if (rc < 0)
            vsock_sock_put(s);
    }
    net_unlock(f);
    return (int)posix_result(rc);
}

int LIBC_NAME(bind)(int fd, const struct sockaddr *addr, socklen_t len)
{
    return (int)posix_result(SOCK_CALL(fd, do_bind(s, addr, len)));
}

int LIBC_NAME(listen)(int fd, int backlog)
{
    return (int)posix_result(SOCK_CALL(fd, vsock_listen(s, backlog)));
}

int LIBC_NAME(accept4)(int fd, struct sockaddr *addr, socklen_t *len, int flags)
{
    return (int)posix_result(SOCK_CALL(fd, do_accept(s, addr, len, flags)));
}

int LIBC_NAME(accept)(int fd, struct sockaddr *addr, socklen_t *len)
{
    return (int)posix_result(SOCK_CALL(fd, do_accept(s, addr, len, 0)));
}

int LIBC_NAME(connect)(int fd, const struct sockaddr *addr, socklen_t len)
{
    return (int)posix_result(SOCK_CALL(fd, do_connect(s, addr, len)));
}

ssize_t LIBC_NAME(send)(int fd, const void *buf, size_t n, int flags)
{
    return posix_result(SOCK_CALL(fd, do_send(s, buf, n, flags)));
}

ssize_t LIBC_NAME(recv)(int fd, void *buf, size_t n, int flags)
{
    return posix_result(SOCK_CALL(fd, do_recv(s, buf, n, flags)));
}

static int do_shutdown(struct vsock_sock *s, int how)
{
    static const uint32_t flags[] = {
        [SHUT_RD] = VSOCK_SHUTDOWN_RCV,
        [SHUT_WR] = VSOCK_SHUTDOWN_SEND,
        [SHUT_RDWR] = VSOCK_SHUTDOWN_BOTH,
    };
    if (how < SHUT_RD || how > SHUT_RDWR)
        return -EINVAL;
    return vsock_shutdown(s, flags[how]);
}

int LIBC_NAME(shutdown)(int fd, int how)
{
    return (int)posix_result(SOCK_CALL(fd, do_shutdown(s, how)));
}

static int do_getsockname(struct vsock_sock *s, struct sockaddr *addr, socklen_t *len)
{
    if (!addr || !len)
        return -EINVAL;
    bool bound = s->state != VSOCK_UNBOUND;
    addr_put(addr, len, bound ? s->local_cid : VMADDR_CID_ANY,
             bound ? s->local_port : VMADDR_PORT_ANY);
    return 0;
}

static int do_getpeername(struct vsock_sock *s, struct sockaddr *addr, socklen_t *len)
{
    if (!addr || !len)
        return -EINVAL;
    if (s->state != VSOCK_ESTABLISHED)
        return -ENOTCONN;
    addr_put(addr, len, s->peer_cid, s->peer_port);
    return 0;
}

int LIBC_NAME(getsockname)(int fd, struct sockaddr *addr, socklen_t *len)
{
    return (int)posix_result(SOCK_CALL(fd, do_getsockname(s, addr, len)));
}

int LIBC_NAME(getpeername)(int fd, struct sockaddr *addr, socklen_t *len)
{
    return (int)posix_result(SOCK_CALL(fd, do_getpeername(s, addr, len)));
}

__attribute__((noinline)) int LIBC_NAME(setsockopt)(int fd, int level, int name, const void *val,
                                                    socklen_t len)
{
    return (int)posix_result(SOCK_CALL(fd, do_setsockopt(s, level, name, val, len)));
}

int LIBC_NAME(getsockopt)(int fd, int level, int name, void *val, socklen_t *len)
{
    return (int)posix_result(SOCK_CALL(fd, do_getsockopt(s, level, name, val, len)));
}

static int do_ioctl(struct vsock_sock *s, unsigned long request, int *val)
{
    if (request != FIONREAD && request != TIOCOUTQ)
        return -ENOTTY;
    if (!val)
        return -EFAULT;
    *val = (int)(request == FIONREAD ? s->rx_bytes : s->tx_cnt - s->peer_fwd_cnt);
    return 0;
}

int LIBC_NAME(ioctl)(int fd, unsigned long request, ...)
{
    va_list ap;
    va_start(ap, request);
    int *val = va_arg(ap, int *);
    va_end(ap);
    long rc = SOCK_CALL(fd, do_ioctl(s, request, val));
    return (int)posix_result(rc == -ENOTSOCK ? -ENOTTY : rc);
}

/* ---- descriptor ops: the socket behind the descriptor, with the net lock
 * and a reference for the call */

#define SOCK_OP(o, expr)                   \
    ({                                     \
        uint64_t f_ = net_lock();          \
        struct vsock_sock *s = sock_of(o); \
        vsock_sock_hold(s);                \
        long rc_ = (expr);                 \
        vsock_sock_put(s);                 \
        net_unlock(f_);                    \
        rc_;                               \
    })

static int64_t sock_read(struct fd_object *o, void *buf, size_t n, const int64_t *at)
{
    return at ? -ESPIPE : SOCK_OP(o, do_recv(s, buf, n, 0));
}
FD_OP(read, sock_kind, sock_read);

static int64_t sock_write(struct fd_object *o, const void *buf, size_t n, const int64_t *at)
{
    return at ? -ESPIPE : SOCK_OP(o, do_send(s, buf, n, 0));
}
FD_OP(write, sock_kind, sock_write);

static int sock_close(struct fd_object *o)
{
    uint64_t f = net_lock();
    struct vsock_sock *s = sock_of(o);
    vsock_release(s);
    vsock_sock_put(s); /* the descriptor's reference */
    net_unlock(f);
    return 0;
}

static short sock_poll(struct fd_object *o, short events, struct waitq **wq)
{
    uint64_t f = net_lock();
    struct vsock_sock *s = sock_of(o);
    short m = (short)(vsock_poll_mask(s) & (events | POLLERR | POLLHUP));
    *wq = net_waitq_of(&s->wq); /* woken by every change of this socket */
    if ((events & POLLOUT) && !(m & POLLOUT))
        vsock_tx_wait_prepare(s, false); /* the poller may sleep for them */
    net_unlock(f);
    return m;
}
FD_OP(poll, sock_kind, sock_poll);

/*
 * sendfile() to a socket: each packet's payload is read by in's read op
 * (the FUSE client, for a file) straight into the packet the device will
 * read, so the guest copies none of it. Credit and SO_SNDBUF room are
 * reserved before the read and the packet goes out whatever the read gave,
 * so the file position never runs ahead of what was sent; a short read is
 * the end of the file. *f is the net lock's: it is let go while the read
 * blocks, and the connection is looked at again after it.
 */
static int64_t do_sendfile(struct vsock_sock *s, struct fd_object *in, fd_read_op *read,
                           int64_t *pos, size_t n, uint64_t *f)
{
    bool nonblock = (s->fdo.flags & O_NONBLOCK) != 0;
    uint64_t deadline = deadline_after(s->sndtimeo);
    size_t done = 0;
    while (done < n) {
        int64_t room = vsock_send_room(s), r;
        uint32_t want, cap;
        struct vsock_pkt *p = NULL;
        if (room > 0) {
            want = n - done < (size_t)room ? (uint32_t)(n - done) : (uint32_t)room;
            p = vsock_pkt_alloc(want, &cap);
            if (!p && !s->tx_inflight)
                room = -ENOMEM; /* nothing in flight would give memory back */
        } else if (room == 0 && !vsock_credit_free(s->peer_buf_alloc, s->peer_fwd_cnt, s->tx_cnt)) {
            vsock_request_credit(s);
        }
        if (room < 0)
            return sent_or_error(s, done, room);
        if (!p) { /* no room, or no memory until packets in flight come back */
            if (nonblock)
                return done ? (int64_t)done : -EAGAIN;
            vsock_tx_wait_prepare(s, room > 0);
            if (net_wait(&s->wq, deadline) == -ETIMEDOUT)
                return done ? (int64_t)done : -EAGAIN;
            continue;
        }
        vsock_tx_reserve(s, cap);
        net_unlock(*f);
        r = read(in, p->data, cap, pos); /* blocks: FUSE READ into the packet */
        *f = net_lock();
        /* r <= cap: a read op gives at most what it was asked (fd.h) */
        if (r > 0 && (room = vsock_send_room(s)) < 0) /* reset, shut down meanwhile */
            r = room;
        if (r <= 0) {
            vsock_tx_unreserve(s, cap);
            vsock_pkt_free(p);
            return sent_or_error(s, done, r); /* r == 0: the end of the file */
        }
        vsock_tx_unreserve(s, cap - (uint32_t)r);
        vsock_net_stats.tx_zero_copy += (uint64_t)r;
        int rc = vsock_send_pkt(s, p, (uint32_t)r);
        if (rc < 0)
            return sent_or_error(s, done, rc);
        done += (size_t)r;
        deadline = deadline_after(s->sndtimeo); /* SO_SNDTIMEO: since the last progress */
        if (pos)
            *pos += r;
        if ((uint32_t)r < cap)
            break; /* a short read: the end of the file */
    }
    return (int64_t)done;
}

static int64_t sock_sendfile(struct fd_object *o, struct fd_object *in, fd_read_op *read,
                             int64_t *pos, size_t n)
{
    uint64_t f = net_lock();
    struct vsock_sock *s = sock_of(o);
    vsock_sock_hold(s);
    int64_t rc = do_sendfile(s, in, read, pos, n, &f);
    vsock_sock_put(s);
    net_unlock(f);
    return rc;
}
FD_OP(sendfile, sock_kind, sock_sendfile);

#ifdef MIURA_HOST_TEST
/* Tests look at a socket's protocol state through its fd. */
struct vsock_sock *vsock_test_fd_sock(int fd);
struct vsock_sock *vsock_test_fd_sock(int fd)
{
    struct vsock_sock *s;
    return sock_at(fd, &s) == 0 ? s : NULL;
}
#endif
