/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * vsock echo server for tests/e2e/vsock.sh: every connection to port 5000
 * gets back what it sends, until it half-closes (then the server finishes
 * echoing and closes). One thread per connection. With `connect=PORT`, it
 * first connects out to the host (CID 2) on PORT, sends "hello from guest\n",
 * and prints what the host answered. Port 5001 answers one line of
 * statistics (connections being served and served so far, heap bytes in use)
 * and closes: the host uses it to see that vanished clients were freed.
 * With `many_port=PORT many=N`, N connections out to the host at once
 * (connect_many below). Port 5002 is a source: a client sends one line
 * "BYTES SNDBUF SEED", and the server sets SO_SNDBUF (unless 0) and sends BYTES bytes of the
 * client's stream from SEED (tests/tools/vsock_client.c --source), then
 * closes; it reads nothing more, so only the device's completions and the
 * peer's credit updates wake a blocked send. `backlog=N` sets port 5000's
 * listen backlog (default 1024) and `accept_gap_ms=N` makes its accept loop
 * sleep N ms after each connection: with backlog=1, a burst of clients
 * overflows the accept queue whatever the machine's speed (tests/e2e/
 * backpressure.sh: the guest refuses, miura-vsockd retries).
 */
#include <errno.h>
#include <linux/vm_sockets.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "miura/miura.h"
#include "mm/heap.h"

#define ECHO_PORT 5000
#define BUF       (16 * 1024)

static unsigned long served, active;

static void *echo(void *arg)
{
    int fd = (int)(intptr_t)arg;
    char *buf = malloc(BUF);
    unsigned long long total = 0;
    while (buf) {
        ssize_t n = recv(fd, buf, BUF, 0);
        if (n <= 0)
            break;
        char *p = buf;
        while (n > 0) {
            ssize_t w = send(fd, p, (size_t)n, 0);
            if (w <= 0)
                goto out;
            p += w;
            n -= w;
            total += (unsigned long long)w;
        }
    }
out:
    free(buf);
    close(fd);
    served++;
    active--;
    return NULL;
}

static void connect_out(unsigned port)
{
    int fd = socket(AF_VSOCK, SOCK_STREAM, 0);
    struct sockaddr_vm host = {
        .svm_family = AF_VSOCK, .svm_port = port, .svm_cid = VMADDR_CID_HOST};
    if (fd < 0 || connect(fd, (struct sockaddr *)&host, sizeof(host)) < 0) {
        printf("connect-out: error %d\n", errno);
        if (fd >= 0)
            close(fd);
        return;
    }
    const char *msg = "hello from guest\n";
    send(fd, msg, strlen(msg), 0);
    shutdown(fd, SHUT_WR);
    char reply[128];
    size_t got = 0;
    ssize_t n;
    while (got < sizeof(reply) - 1 && (n = recv(fd, reply + got, sizeof(reply) - 1 - got, 0)) > 0)
        got += (size_t)n;
    reply[got] = 0;
    if (got && reply[got - 1] == '\n')
        reply[got - 1] = 0;
    printf("connect-out: host said '%s'\n", reply);
    close(fd);
}

/*
 * many_port=PORT many=N: N threads connect to the host's PORT at once, each
 * sends "hello I\n", half-closes and reads the answer; one line says how
 * many were answered, refused (ECONNREFUSED/ECONNRESET) or failed otherwise.
 */
static unsigned many_port;
static unsigned many_ok, many_refused, many_other;

static void *connect_one(void *arg)
{
    int fd = socket(AF_VSOCK, SOCK_STREAM, 0);
    struct sockaddr_vm host = {
        .svm_family = AF_VSOCK, .svm_port = many_port, .svm_cid = VMADDR_CID_HOST};
    if (fd < 0 || connect(fd, (struct sockaddr *)&host, sizeof(host)) < 0) {
        if (errno == ECONNREFUSED || errno == ECONNRESET)
            many_refused++;
        else
            many_other++;
        if (fd >= 0)
            close(fd);
        return NULL;
    }
    char msg[32];
    int n = snprintf(msg, sizeof(msg), "hello %u\n", (unsigned)(uintptr_t)arg);
    send(fd, msg, (size_t)n, 0);
    shutdown(fd, SHUT_WR);
    char reply[128];
    if (recv(fd, reply, sizeof(reply), 0) > 0)
        many_ok++;
    else
        many_other++;
    close(fd);
    return NULL;
}

static void connect_many(unsigned port, unsigned n)
{
    thread_t *t[256];
    many_port = port;
    if (n > 256)
        n = 256;
    for (unsigned i = 0; i < n; i++)
        t[i] = thread_create(THREAD_CPU_CURRENT, 16 * 1024, connect_one, (void *)(uintptr_t)i);
    for (unsigned i = 0; i < n; i++)
        if (t[i])
            thread_join(t[i], NULL);
    printf("connect-many: %u/%u answered, %u refused, %u other errors\n", many_ok, n, many_refused,
           many_other);
}

#define STATS_PORT  5001
#define SOURCE_PORT 5002

static uint8_t stream_byte(uint64_t *s)
{
    *s = *s * 6364136223846793005ull + 1442695040888963407ull;
    return (uint8_t)(*s >> 56);
}

static void *source(void *arg)
{
    int fd = (int)(intptr_t)arg;
    char line[96];
    size_t got = 0;
    while (got < sizeof(line) - 1 && recv(fd, line + got, 1, 0) == 1 && line[got] != '\n')
        got++;
    line[got] = 0;
    char *p = line;
    unsigned long long left = strtoull(p, &p, 10);
    int sndbuf = (int)strtol(p, &p, 10);
    uint64_t seed = strtoull(p, &p, 10);
    char *buf = malloc(BUF);
    if (sndbuf > 0)
        setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof(sndbuf));
    while (buf && left > 0) {
        size_t n = left < BUF ? (size_t)left : BUF;
        for (size_t i = 0; i < n; i++)
            buf[i] = (char)stream_byte(&seed);
        for (size_t off = 0; off < n;) {
            ssize_t w = send(fd, buf + off, n - off, 0);
            if (w <= 0)
                goto out;
            off += (size_t)w;
        }
        left -= n;
    }
out:
    free(buf);
    close(fd);
    return NULL;
}

static void *source_server(void *arg)
{
    (void)arg;
    int ls = miura_listen_port(SOURCE_PORT, 8);
    if (ls < 0)
        return NULL;
    for (;;) {
        int c = accept(ls, NULL, NULL);
        if (c < 0)
            continue;
        thread_t *t = thread_create(THREAD_CPU_CURRENT, 16 * 1024, source, (void *)(intptr_t)c);
        if (t)
            thread_detach(t);
        else
            close(c);
    }
}

static void *stats_server(void *arg)
{
    (void)arg;
    int ls = miura_listen_port(STATS_PORT, 8);
    if (ls < 0)
        return NULL;
    for (;;) {
        int c = accept(ls, NULL, NULL);
        if (c < 0)
            continue;
        struct heap_stats hs;
        heap_stats(&hs);
        char line[128];
        int n = snprintf(line, sizeof(line), "active %lu served %lu heap %zu\n", active, served,
                         hs.bytes_in_use);
        send(c, line, (size_t)n, 0);
        close(c);
    }
}

int main(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    thread_detach(thread_create(THREAD_CPU_CURRENT, 16 * 1024, stats_server, NULL));
    thread_detach(thread_create(THREAD_CPU_CURRENT, 16 * 1024, source_server, NULL));
    const char *out = miura_getarg("connect");
    if (out)
        connect_out((unsigned)strtoul(out, NULL, 10));
    unsigned many = miura_getarg_uint("many", 0, 0, 256);
    unsigned many_at = miura_getarg_uint("many_port", 0, 0, 0xfffffffeu);
    if (many && many_at)
        connect_many(many_at, many);
    unsigned gap_ms = miura_getarg_uint("accept_gap_ms", 0, 0, 10000);
    int ls = miura_listen_port(ECHO_PORT, (int)miura_getarg_uint("backlog", 1024, 1, 4096));
    if (ls < 0) {
        printf("echo: cannot listen: error %d\n", errno);
        return 1;
    }
    printf("echo: listening on port %d\n", ECHO_PORT);
    for (;;) {
        int c = accept(ls, NULL, NULL);
        if (c < 0)
            continue;
        thread_t *t = thread_create(THREAD_CPU_CURRENT, 16 * 1024, echo, (void *)(intptr_t)c);
        if (!t) {
            close(c);
            continue;
        }
        active++;
        thread_detach(t);
        if (gap_ms)
            thread_sleep_ms(gap_ms);
    }
}
