/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Host-side client for the vsock e2e tests: opens N connections to a guest
 * echo server, through miura-vsockd's hybrid Unix socket (CONNECT line) or a
 * published TCP port, streams B pseudo-random bytes on each and checks that
 * exactly the same bytes come back. Single-threaded, poll(2)-driven.
 *
 *   vsock_client (--uds PATH --port P | --tcp ADDR:PORT) [--conns N] [--bytes B]
 *                [--half-close] [--vanish] [--slow MS [--slow-bytes N]] [--burst]
 *                [--source SNDBUF] [--timeout S]
 *
 * --half-close  shut down the sending side after the last byte, then expect
 *               the whole echo and EOF.
 * --vanish      send half the bytes, then reset the connection (SO_LINGER 0).
 * --slow MS     read at most 4 KiB every MS milliseconds (a slow reader);
 *               with --slow-bytes N only the first N bytes, then at full speed.
 * --source SNDBUF  the guest sends and we only read (test_echo's port 5002):
 *               we send one line "B SNDBUF SEED", the guest sets SO_SNDBUF
 *               (0: its default) and sends B bytes of our stream.
 * --burst       with --uds: send every CONNECT line before reading any OK (all
 *               N clients arrive at once), instead of one handshake at a time.
 * A connection is closed as soon as it is verified (or failed), as a real
 * client would, so that a server with fewer slots than --conns serves all.
 * Prints one summary line; exits 0 only if every connection verified.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

struct conn {
    int fd;
    int awaiting_ok; /* --burst: CONNECT sent, the OK line not read yet */
    char line[64];   /* the OK line so far */
    unsigned line_len;
    uint64_t sent, received;
    uint64_t tx_state, rx_state; /* PRNG streams for the two directions */
    int done, failed, shut;
    uint64_t next_read_ms;
};

static const char *uds, *tcp;
static unsigned port, conns = 1, slow_ms, timeout_s = 120;
static uint64_t bytes = 1024, slow_bytes = UINT64_MAX;
static int half_close, vanish, burst;
static long source_sndbuf = -1; /* --source: >= 0 */

static uint8_t stream_byte(uint64_t *s)
{
    *s = *s * 6364136223846793005ull + 1442695040888963407ull;
    return (uint8_t)(*s >> 56);
}

static uint64_t now_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (uint64_t)t.tv_sec * 1000 + (uint64_t)t.tv_nsec / 1000000;
}

static void die(const char *what)
{
    fprintf(stderr, "vsock_client: %s: %s\n", what, strerror(errno));
    exit(1);
}

static int open_one(struct conn *c)
{
    int fd;
    if (uds) {
        struct sockaddr_un a = {.sun_family = AF_UNIX};
        snprintf(a.sun_path, sizeof(a.sun_path), "%s", uds);
        fd = socket(AF_UNIX, SOCK_STREAM, 0);
        if (fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof(a)) < 0)
            die("connect to the hybrid socket");
        char line[64];
        int n = snprintf(line, sizeof(line), "CONNECT %u\n", port);
        if (write(fd, line, (size_t)n) != n)
            die("write CONNECT");
        if (burst) { /* the OK is read in the poll loop (step_ok) */
            c->awaiting_ok = 1;
            fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
            return fd;
        }
        /* Read the "OK <port>\n" reply byte by byte: the stream follows it. */
        size_t got = 0;
        char c;
        while (got < sizeof(line) - 1 && read(fd, &c, 1) == 1) {
            line[got++] = c;
            if (c == '\n')
                break;
        }
        line[got] = 0;
        if (strncmp(line, "OK ", 3) != 0) {
            fprintf(stderr, "vsock_client: CONNECT %u answered '%s'\n", port, line);
            exit(1);
        }
    } else {
        char host[64];
        snprintf(host, sizeof(host), "%s", tcp);
        char *colon = strrchr(host, ':');
        if (!colon)
            exit(2);
        *colon = 0;
        struct sockaddr_in a = {.sin_family = AF_INET,
                                .sin_port = htons((uint16_t)atoi(colon + 1))};
        if (inet_pton(AF_INET, host, &a.sin_addr) != 1)
            exit(2);
        fd = socket(AF_INET, SOCK_STREAM, 0);
        if (fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof(a)) < 0)
            die("connect to the published port");
    }
    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
    return fd;
}

/* --burst: reads the "OK <port>\n" line byte by byte (the stream follows it). */
static void step_ok(struct conn *c)
{
    char ch;
    ssize_t n;
    while ((n = read(c->fd, &ch, 1)) == 1) {
        if (c->line_len == sizeof(c->line) - 1) {
            c->failed = 1;
            return;
        }
        c->line[c->line_len++] = ch;
        if (ch == '\n') {
            c->line[c->line_len] = 0;
            if (strncmp(c->line, "OK ", 3) != 0)
                c->failed = 1;
            c->awaiting_ok = 0;
            return;
        }
    }
    if (n == 0 || errno != EAGAIN) /* closed (or reset) without an OK */
        c->failed = 1;
}

static void step_send(struct conn *c)
{
    uint8_t buf[16384];
    uint64_t limit = vanish ? bytes / 2 : bytes;
    while (c->sent < limit) {
        size_t n = limit - c->sent < sizeof(buf) ? (size_t)(limit - c->sent) : sizeof(buf);
        uint64_t s = c->tx_state;
        for (size_t i = 0; i < n; i++)
            buf[i] = stream_byte(&s);
        ssize_t w = write(c->fd, buf, n);
        if (w <= 0) {
            if (w < 0 && errno != EAGAIN)
                c->failed = 1;
            return;
        }
        for (ssize_t i = 0; i < w; i++) /* advance by what was taken */
            stream_byte(&c->tx_state);
        c->sent += (uint64_t)w;
    }
    if (vanish) {
        struct linger l = {1, 0};
        setsockopt(c->fd, SOL_SOCKET, SO_LINGER, &l, sizeof(l));
        close(c->fd);
        c->fd = -1;
        c->done = 1;
        return;
    }
    if (half_close && !c->shut) {
        shutdown(c->fd, SHUT_WR);
        c->shut = 1;
    }
}

static void step_recv(struct conn *c)
{
    uint8_t buf[16384];
    for (;;) {
        size_t cap = sizeof(buf);
        if (slow_ms && c->received < slow_bytes) {
            if (now_ms() < c->next_read_ms)
                return;
            cap = 4096;
            c->next_read_ms = now_ms() + slow_ms;
        }
        ssize_t n = read(c->fd, buf, cap);
        if (n == 0) { /* EOF: complete only if everything came back */
            if (c->received != bytes)
                c->failed = 1;
            c->done = 1;
            return;
        }
        if (n < 0) {
            if (errno != EAGAIN)
                c->failed = 1;
            return;
        }
        for (ssize_t i = 0; i < n; i++)
            if (buf[i] != stream_byte(&c->rx_state)) {
                c->failed = 1;
                return;
            }
        c->received += (uint64_t)n;
        if (c->received > bytes)
            c->failed = 1;
        if (c->received == bytes && !half_close) {
            c->done = 1;
            return;
        }
        if (slow_ms && c->received < slow_bytes)
            return;
    }
}

int main(int argc, char **argv)
{
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "--uds") && v)
            uds = v, i++;
        else if (!strcmp(a, "--tcp") && v)
            tcp = v, i++;
        else if (!strcmp(a, "--port") && v)
            port = (unsigned)strtoul(v, NULL, 10), i++;
        else if (!strcmp(a, "--conns") && v)
            conns = (unsigned)strtoul(v, NULL, 10), i++;
        else if (!strcmp(a, "--bytes") && v)
            bytes = strtoull(v, NULL, 10), i++;
        else if (!strcmp(a, "--slow") && v)
            slow_ms = (unsigned)strtoul(v, NULL, 10), i++;
        else if (!strcmp(a, "--slow-bytes") && v)
            slow_bytes = strtoull(v, NULL, 10), i++;
        else if (!strcmp(a, "--source") && v)
            source_sndbuf = strtol(v, NULL, 10), i++;
        else if (!strcmp(a, "--timeout") && v)
            timeout_s = (unsigned)strtoul(v, NULL, 10), i++;
        else if (!strcmp(a, "--half-close"))
            half_close = 1;
        else if (!strcmp(a, "--vanish"))
            vanish = 1;
        else if (!strcmp(a, "--burst"))
            burst = 1;
        else {
            fprintf(stderr, "usage: vsock_client (--uds PATH --port P | --tcp ADDR:PORT) "
                            "[--conns N] [--bytes B] [--half-close] [--vanish] [--slow MS "
                            "[--slow-bytes N]] [--burst] [--source SNDBUF] [--timeout S]\n");
            return 2;
        }
    }
    if ((!uds == !tcp) || conns == 0 || conns > 4096) {
        fprintf(stderr, "vsock_client: give exactly one of --uds/--tcp, 1..4096 connections\n");
        return 2;
    }
    if (source_sndbuf >= 0 && (burst || half_close || vanish)) {
        fprintf(stderr, "vsock_client: --source goes with none of --burst/--half-close/--vanish\n");
        return 2;
    }
    struct conn *c = calloc(conns, sizeof(*c));
    struct pollfd *p = calloc(conns, sizeof(*p));
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < conns + 16u) {
        rl.rlim_cur = rl.rlim_max < conns + 16u ? rl.rlim_max : conns + 16u;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
    for (unsigned i = 0; i < conns; i++) {
        c[i].fd = open_one(&c[i]);
        c[i].tx_state = c[i].rx_state = 0x9e3779b97f4a7c15ull * (i + 1);
        if (source_sndbuf >= 0) { /* the guest sends; the line fits any socket buffer */
            char line[96];
            int n = snprintf(line, sizeof(line), "%llu %ld %llu\n", (unsigned long long)bytes,
                             source_sndbuf, (unsigned long long)c[i].rx_state);
            if (write(c[i].fd, line, (size_t)n) != n)
                die("write the source line");
            c[i].sent = bytes;
        }
    }
    uint64_t deadline = now_ms() + timeout_s * 1000ull;
    unsigned left = conns;
    while (left > 0 && now_ms() < deadline) {
        for (unsigned i = 0; i < conns; i++) {
            p[i].fd = c[i].done || c[i].failed ? -1 : c[i].fd;
            p[i].events =
                POLLIN | ((c[i].sent < bytes && !c[i].shut && !c[i].awaiting_ok) ? POLLOUT : 0);
        }
        poll(p, conns, slow_ms ? (int)slow_ms : 100);
        left = 0;
        for (unsigned i = 0; i < conns; i++) {
            if (c[i].done || c[i].failed)
                continue;
            if (c[i].awaiting_ok)
                step_ok(&c[i]);
            if (c[i].awaiting_ok || c[i].failed) {
                left += !c[i].failed;
                continue;
            }
            step_send(&c[i]);
            if (!c[i].done && !c[i].failed)
                step_recv(&c[i]);
            if (!c[i].done && !c[i].failed)
                left++;
            else if (c[i].fd >= 0) { /* finished: its slot is free for the others */
                close(c[i].fd);
                c[i].fd = -1;
            }
        }
    }
    unsigned ok = 0, failed = 0;
    for (unsigned i = 0; i < conns; i++) {
        if (c[i].done && !c[i].failed)
            ok++;
        else
            failed++;
        if (c[i].fd >= 0)
            close(c[i].fd);
    }
    printf("%u/%u connections verified, %llu bytes each%s%s%s\n", ok, conns,
           (unsigned long long)bytes, half_close ? ", half-closed" : "", vanish ? ", vanished" : "",
           left ? ", timed out" : "");
    return failed ? 1 : 0;
}
