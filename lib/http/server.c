/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The connection loop (http_serve): one cooperative thread per connection,
 * which reads a request (head, then body), hands it to the handler and goes
 * on with the next one on the same connection. Protocol decisions are the
 * parser's (parse.c); this file moves bytes and keeps time.
 *
 * CPUs: connections are dealt to the CPUs in turn as they are accepted, and
 * each one's thread stays on its CPU. The list of idle connections, which
 * every CPU's threads join and the accept loop (CPU 0) shortens, is touched
 * in the cooperative section (thread.h); the counts are atomic.
 *
 * Memory: a connection starts with one page holding its receive buffer
 * (first half) and its response-head buffer (second half): one exact page,
 * nothing that needs contiguous pages. A big head or a body moves the
 * receive buffer to a larger allocation of its own, up to
 * http_limits_buffer_size() + max_body.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "miura/http.h"
#include "miura/miura.h"

#define BUF_INITIAL 2048 /* receive buffer in the connection's page */
#define OUT_SIZE    2048 /* response heads and error pages (>= HTTP_RESPONSE_MIN) */

static const struct http_server_config *server; /* http_serve's */
static struct http_server_stats stats;          /* __atomic_* */

_Static_assert(HTTP_STATS_CPUS == MIURA_MAX_CPUS, "a count for every CPU");

void http_server_stats(struct http_server_stats *s)
{
    memcpy(s, &stats, sizeof(*s)); /* counts read one by one, not at one instant */
}

static void count(unsigned *n, int by)
{
    __atomic_add_fetch(n, by, __ATOMIC_RELAXED);
}

int http_send_all(int sock, const void *buf, size_t len)
{
    for (;;) {
        ssize_t n = send(sock, buf, len, 0);
        if (n == (ssize_t)len)
            return 0;
        /* A blocking send stops short only when the client took nothing
         * for SO_SNDTIMEO (or on an error): the connection is given up. */
        if (n >= 0 || errno != EINTR)
            return -1;
    }
}

static void set_timeout(int fd, uint64_t ms)
{
    struct timeval tv = {(long)(ms / 1000), (long)(ms % 1000) * 1000};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
}

/* Sends a response the loop makes itself (errors), logs it. */
static void send_own(int sock, const struct http_request *req, const char *out,
                     const struct http_response *resp)
{
    http_send_all(sock, out, resp->out_len);
    if (server->log)
        http_log(req, resp);
}

/* Connections waiting for their next request, oldest first. When memory runs
 * out, the accept loop ends some of them (as nginx reuses idle keep-alive
 * connections) rather than make new clients wait for their idle timeout. */
struct idle_conn {
    int sock;
    struct idle_conn *prev, *next; /* itself when not listed */
};
static struct idle_conn idle_list = {-1, &idle_list, &idle_list};

static void idle_enter(struct idle_conn *c)
{
    c->prev = idle_list.prev;
    c->next = &idle_list;
    idle_list.prev->next = c;
    idle_list.prev = c;
}

static void idle_leave(struct idle_conn *c)
{
    c->prev->next = c->next;
    c->next->prev = c->prev;
    c->prev = c->next = c;
}

/* Shuts down up to n idle connections: their threads see the end of the
 * stream, exit and free their memory. Returns how many. */
static unsigned reclaim_idle(unsigned n)
{
    unsigned done = 0;
    thread_coop_enter();
    while (done < n && idle_list.next != &idle_list) {
        struct idle_conn *c = idle_list.next;
        idle_leave(c);
        shutdown(c->sock, SHUT_RDWR); /* c's thread is in recv: its socket is open */
        done++;
    }
    thread_coop_leave();
    count(&stats.reclaimed_idle, (int)done);
    return done;
}

static void *connection(void *arg)
{
    int sock = (int)(intptr_t)arg;
    const struct http_limits *limits = server->limits ? server->limits : &http_default_limits;
    size_t max_cap = http_limits_buffer_size(limits) + limits->max_body;
    uint64_t idle_ms = (server->idle_timeout_s ? server->idle_timeout_s : 60) * 1000ull;
    uint64_t budget = (server->request_timeout_s ? server->request_timeout_s : 10) * 1000ull;
    char *page = malloc(BUF_INITIAL + OUT_SIZE);
    char *buf = page, *out = page ? page + BUF_INITIAL : NULL;
    size_t cap = BUF_INITIAL;
    size_t len = 0;
    struct http_request req;
    struct http_response resp;
    struct idle_conn idle = {sock, &idle, &idle};

    if (!page)
        count(&stats.dropped, 1);
    count(&stats.by_cpu[miura_cpu_id()], 1);
    unsigned open = __atomic_add_fetch(&stats.open, 1, __ATOMIC_RELAXED);
    unsigned peak = __atomic_load_n(&stats.peak, __ATOMIC_RELAXED);
    while (open > peak && !__atomic_compare_exchange_n(&stats.peak, &peak, open, true,
                                                       __ATOMIC_RELAXED, __ATOMIC_RELAXED))
        ;
    while (page) {
        /* Idle (nothing of the next request yet), or reading a head, then
         * its body: the request, `need` bytes once the head is parsed. */
        uint64_t started = 0;
        size_t need = 0;
        bool continued = false;
        enum http_parse_status st =
            len ? http_parse_request(buf, len, limits, &req) : HTTP_PARSE_INCOMPLETE;
        for (;;) {
            if (st == HTTP_PARSE_DONE) {
                need = req.head_length + (size_t)req.content_length;
                if (len >= need)
                    break;
                if (req.expect_continue && !continued && len == req.head_length) {
                    static const char cont[] = "HTTP/1.1 100 Continue\r\n\r\n";
                    if (http_send_all(sock, cont, sizeof(cont) - 1) < 0)
                        goto done;
                    continued = true;
                }
            } else if (st == HTTP_PARSE_ERROR) {
                break;
            }
            uint64_t now = miura_clock_ns();
            uint64_t limit_ms;
            if (len == 0) {
                limit_ms = idle_ms;
            } else {
                if (!started)
                    started = now;
                uint64_t spent = (now - started) / 1000000;
                limit_ms = spent >= budget ? 1 : budget - spent;
            }
            size_t want = st == HTTP_PARSE_DONE ? need : len + 1;
            if (want > cap && cap < max_cap) { /* a big head or a body: grow the buffer */
                size_t grown = cap * 4 < max_cap ? cap * 4 : max_cap;
                if (grown < want)
                    grown = want;
                char *p = buf == page ? malloc(grown) : realloc(buf, grown);
                if (!p)
                    goto done;
                if (buf == page)
                    memcpy(p, buf, len);
                buf = p;
                cap = grown;
            }
            set_timeout(sock, limit_ms);
            if (len == 0) {
                thread_coop_enter();
                idle_enter(&idle);
                thread_coop_leave();
            }
            ssize_t n = recv(sock, buf + len, cap - len, 0);
            if (len == 0) {
                thread_coop_enter();
                if (idle.next != &idle) /* not reclaimed meanwhile */
                    idle_leave(&idle);
                thread_coop_leave();
            }
            if (n <= 0) {
                if (n < 0 && (errno == EAGAIN || errno == ETIMEDOUT) && len > 0) {
                    http_respond_error(NULL, 408, miura_realtime_s(), out, OUT_SIZE, &resp);
                    send_own(sock, NULL, out, &resp);
                }
                goto done; /* peer closed, idle timeout, or error */
            }
            len += (size_t)n;
            if (st == HTTP_PARSE_INCOMPLETE)
                st = http_parse_request(buf, len, limits, &req);
        }
        /* A body refused (413, 411) under a method not served: 405 says
         * what is wrong with the request (a POST to a static site). */
        if (st == HTTP_PARSE_ERROR && (req.error_status == 413 || req.error_status == 411) &&
            server->methods && !(server->methods & HTTP_ALLOW(req.method))) {
            http_respond_405(&req, server->methods, miura_realtime_s(), out, OUT_SIZE, &resp);
            send_own(sock, &req, out, &resp);
            break;
        }
        if (st == HTTP_PARSE_ERROR) {
            http_respond_error(&req, req.error_status, miura_realtime_s(), out, OUT_SIZE, &resp);
            send_own(sock, &req, out, &resp);
            break;
        }
        if (server->methods && !(server->methods & HTTP_ALLOW(req.method))) {
            http_respond_405(&req, server->methods, miura_realtime_s(), out, OUT_SIZE, &resp);
            send_own(sock, &req, out, &resp);
            break;
        }
        req.body.ptr = buf + req.head_length;
        req.body.len = (size_t)req.content_length;
        bool keep = server->handler(sock, &req, out, OUT_SIZE);
        /* Pipelining: what follows this request is the next one. */
        memmove(buf, buf + need, len - need);
        len -= need;
        if (!keep)
            break;
    }
done:
    count(&stats.open, -1);
    if (buf != page)
        free(buf);
    free(page);
    close(sock);
    return NULL;
}

int http_serve(int listen_fd, const struct http_server_config *cfg)
{
    unsigned next_cpu = 0;
    server = cfg;
    /* Accepted connections inherit it: a client that takes no bytes of a
     * response for the idle timeout (a send that cannot move) is closed,
     * and its memory comes back. */
    struct timeval tv = {cfg->idle_timeout_s ? cfg->idle_timeout_s : 60, 0};
    setsockopt(listen_fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
    for (;;) {
        int c = accept(listen_fd, NULL, NULL);
        if (c < 0) {
            if (errno == EMFILE || errno == ENOMEM || errno == ENFILE) {
                thread_sleep_ms(10); /* out of resources: back off, then retry */
                continue;
            }
            if (errno == EBADF || errno == EINVAL || errno == ENOTSOCK || errno == EOPNOTSUPP)
                return -1; /* not a listening socket: nothing will ever come */
            continue;      /* a connection that failed before it was accepted */
        }
        /* Out of memory: end idle keep-alive connections (oldest first) and
         * wait, up to a second, for memory, accepting no more meanwhile, so a
         * burst queues in the backlog instead of being dropped; then drop
         * this one. */
        thread_t *t;
        size_t stack = server->stack_size ? server->stack_size : 8192;
        int cpu = (int)(next_cpu++ % miura_cpu_count());
        for (int tries = 0;
             !(t = thread_create(cpu, stack, connection, (void *)(intptr_t)c)) && tries < 100;
             tries++) {
            reclaim_idle(2);
            thread_sleep_ms(10);
        }
        if (!t) {
            count(&stats.dropped, 1);
            close(c);
            continue;
        }
        thread_detach(t);
    }
}
