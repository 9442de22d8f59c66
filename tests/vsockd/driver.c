/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * vsockd-driver: drives miura-vsockd as QEMU and a guest would.
 *
 *   vsockd-driver test --socket S --uds U --echo-port P --sink-port P --source-port P
 *       runs the end-to-end checks, one "ok - vsockd/<check>" line each
 *       (the daemon must publish P -> 5000 echo, 5001 sink, 5002 source).
 *   vsockd-driver guest --socket S
 *       just plays the guest (services on 5000-5002) until killed: benchmarks.
 *   vsockd-driver client (--tcp PORT | --uds PATH | --unix PATH) --bytes N
 *                        [--port 5001|5002] [--conns K] [--parallel J]
 *       K connections (J at a time), each sending N bytes to the sink service
 *       (port 5001) or asking the source (5002) for N; --uds sends the CONNECT
 *       line first. Checks every answer; prints "bytes=... seconds=...
 *       xfer_seconds=... conns=... failed=..." (xfer: the slowest transfer,
 *       without the client's own verification).
 *   vsockd-driver sink-server|source-server --uds PATH
 *       those services on a plain Unix socket (what socat relays to).
 */
#include <errno.h>
#include <stdarg.h>
#include <getopt.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "abi/vsock.h"
#include "common.h"
#include "frontend.h"
#include "host_io.h"

static const char *sock_path, *uds_path;
static uint16_t echo_port, sink_port, source_port;
static int failures;

static void report(bool ok, const char *check, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void report(bool ok, const char *check, const char *fmt, ...)
{
    char why[256] = "";
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, sizeof(why), fmt, ap);
    va_end(ap);
    if (ok) {
        printf("ok - vsockd/%s%s%s\n", check, why[0] ? " # " : "", why);
    } else {
        printf("not ok - vsockd/%s: %s\n", check, why);
        failures++;
    }
    fflush(stdout);
}

/* Echo through a connected stream: what comes back must be what went. */
static bool echo_ok(int fd, uint64_t seed, uint64_t len, char *why, size_t whylen)
{
    uint64_t n, h;
    if (fd < 0) {
        snprintf(why, whylen, "connect failed");
        return false;
    }
    int rc = exchange(fd, NULL, 0, seed, len, &n, &h, 30000);
    close(fd);
    if (rc || n != len || h != pattern_hash(seed, len)) {
        snprintf(why, whylen, "rc %d, got %llu of %llu bytes, hash %s", rc, (unsigned long long)n,
                 (unsigned long long)len, h == pattern_hash(seed, len) ? "ok" : "wrong");
        return false;
    }
    return true;
}

/* Sends len pattern bytes to the sink; its {count, hash} answer must match. */
static int sink_answer(int fd, uint64_t seed, uint64_t len)
{
    uint64_t rn, rh, expect[2] = {len, pattern_hash(seed, len)};
    struct stream_hash s;
    if (fd < 0)
        return -1;
    int rc = exchange(fd, NULL, 0, seed, len, &rn, &rh, 60000);
    close(fd);
    if (rc || rn != 16)
        return -1;
    /* exchange hashed the 16-byte answer: compare with the hash of the expected one */
    hash_init(&s);
    hash_update(&s, (const uint8_t *)expect, 16);
    return hash_final(&s) == rh ? 0 : -2;
}

static bool source_ok(int fd, uint64_t len, char *why, size_t whylen)
{
    uint64_t n, h;
    if (fd < 0) {
        snprintf(why, whylen, "connect failed");
        return false;
    }
    int rc = exchange(fd, &len, 8, 0, 0, &n, &h, 60000);
    close(fd);
    if (rc || n != len || h != pattern_hash(len, len)) {
        snprintf(why, whylen, "rc %d, got %llu of %llu bytes, hash %s", rc, (unsigned long long)n,
                 (unsigned long long)len, h == pattern_hash(len, len) ? "ok" : "wrong");
        return false;
    }
    return true;
}

struct par {
    int i;
    bool ok;
    char why[128];
};

static void *par_echo(void *arg)
{
    struct par *p = arg;
    uint32_t hp;
    char line[64];
    int fd =
        p->i % 2 ? tcp_connect(echo_port) : uds_connect(uds_path, 5000, &hp, line, sizeof(line));
    p->ok = echo_ok(fd, 1000 + (uint64_t)p->i, 256 * 1024 + (uint64_t)p->i * 4099, p->why,
                    sizeof(p->why));
    return NULL;
}

static void test_basic(struct frontend *fe)
{
    char why[160] = "", line[64];
    uint32_t hp = 0;
    uint64_t n, h;

    report(fe_config_cid(fe) == GUEST_CID, "config_cid", "GET_CONFIG cid %llu",
           (unsigned long long)fe_config_cid(fe));

    int fd = uds_connect(uds_path, PORT_ECHO, &hp, line, sizeof(line));
    report(fd >= 0 && hp >= (1u << 30), "uds_ok_line", "line '%.*s'", (int)strcspn(line, "\n"),
           line);
    report(echo_ok(fd, 1, 1 << 20, why, sizeof(why)), "uds_echo_1MiB", "%s", why);

    /* A CONNECT line split over several writes, with data right behind it. */
    {
        struct sockaddr_un_ {
            sa_family_t f;
            char p[108];
        };
        int s = socket(AF_UNIX, SOCK_STREAM, 0);
        struct sockaddr_un_ sa = {AF_UNIX, {0}};
        snprintf(sa.p, sizeof(sa.p), "%s", uds_path);
        bool ok = s >= 0 && connect(s, (struct sockaddr *)&sa, sizeof(sa)) == 0;
        const char *parts[] = {"CONN", "ECT 50", "00", "\nhello"};
        for (int i = 0; ok && i < 4; i++) {
            ok = send(s, parts[i], strlen(parts[i]), MSG_NOSIGNAL) > 0;
            usleep(20000);
        }
        shutdown(s, SHUT_WR);
        uint8_t got[64] = {0};
        ok = ok && drain(s, got, sizeof(got) - 1, &n, &h, 30000) == 0;
        report(ok && strncmp((char *)got, "OK ", 3) == 0 && strstr((char *)got, "\nhello") &&
                   n == strlen((char *)got),
               "uds_split_connect_line", "%s",
               ok ? "OK line, then the bytes after the newline" : "connect/drain failed");
        if (s >= 0)
            close(s);
    }

    /* Garbage instead of a CONNECT line: closed, nothing sent back. */
    {
        int s = socket(AF_UNIX, SOCK_STREAM, 0);
        struct sockaddr sa_unused;
        (void)sa_unused;
        uint32_t dummy;
        (void)dummy;
        char gl[64];
        int bad = uds_connect(uds_path, 0, &dummy, gl, sizeof(gl)); /* port 0: no service */
        report(bad < 0 && gl[0] == 0, "uds_no_guest_listener", "answer '%s'", gl);
        if (bad >= 0)
            close(bad);
        struct {
            sa_family_t f;
            char p[108];
        } sa = {AF_UNIX, {0}};
        snprintf(sa.p, sizeof(sa.p), "%s", uds_path);
        bool ok = s >= 0 && connect(s, (struct sockaddr *)&sa, sizeof(sa)) == 0 &&
                  send(s, "HELLO 5000\n", 11, MSG_NOSIGNAL) == 11;
        ok = ok && drain(s, NULL, 0, &n, &h, 30000) >= 0 && n == 0;
        report(ok, "uds_garbage_line_closed", "%s", ok ? "" : "not closed or got bytes");
        if (s >= 0)
            close(s);
        s = socket(AF_UNIX, SOCK_STREAM, 0);
        ok = s >= 0 && connect(s, (struct sockaddr *)&sa, sizeof(sa)) == 0 &&
             send(s, "CONNECT 99999999999999\n", 23, MSG_NOSIGNAL) == 23;
        ok = ok && drain(s, NULL, 0, &n, &h, 30000) >= 0 && n == 0;
        report(ok, "uds_overlong_port_closed", "%s", ok ? "" : "not closed or got bytes");
        if (s >= 0)
            close(s);
    }

    report(echo_ok(tcp_connect(echo_port), 2, 4 << 20, why, sizeof(why)), "tcp_echo_4MiB", "%s",
           why);
    int rc = sink_answer(tcp_connect(sink_port), 3, 8 << 20);
    report(rc == 0, "tcp_to_guest_8MiB_checksum", "rc %d", rc);
    report(source_ok(tcp_connect(source_port), 8 << 20, why, sizeof(why)),
           "guest_to_tcp_8MiB_checksum", "%s", why);

    /* Guest -> host: PATH_6000 has an echo server, PATH_6001 nothing. */
    char p6000[256];
    snprintf(p6000, sizeof(p6000), "%s_6000", uds_path);
    if (echo_server_start(p6000) < 0) {
        report(false, "guest_to_host_echo", "cannot listen at %s", p6000);
    } else {
        rc = fe_guest_connect(fe, 6000, 77, 3 << 20, &n, &h, 30000);
        report(rc == 0 && n == (3u << 20) && h == pattern_hash(77, 3 << 20),
               "guest_to_host_echo_3MiB", "rc %d, %llu bytes", rc, (unsigned long long)n);
    }
    rc = fe_guest_connect(fe, 6001, 1, 10, &n, &h, 10000);
    report(rc == -1, "guest_to_host_no_listener_rst", "rc %d (want -1: RST)", rc);
}

static void test_concurrent(void)
{
    enum { N = 100 };
    pthread_t t[N];
    struct par p[N];
    uint64_t t0 = now_us();
    for (int i = 0; i < N; i++) {
        p[i].i = i;
        p[i].ok = false;
        strcpy(p[i].why, "thread not run");
        if (pthread_create(&t[i], NULL, par_echo, &p[i]))
            t[i] = 0;
    }
    int bad = 0, first = -1;
    for (int i = 0; i < N; i++) {
        if (t[i])
            pthread_join(t[i], NULL);
        if (!p[i].ok && bad++ == 0)
            first = i;
    }
    report(bad == 0, "concurrent_100_echo", "%d failed%s%s; %.2f s", bad,
           first >= 0 ? ", first: " : "", first >= 0 ? p[first].why : "",
           (double)(now_us() - t0) / 1e6);
}

static void test_big(void)
{
    char why[160] = "";
    uint64_t len = 256ull << 20;
    uint64_t t0 = now_us();
    int rc = sink_answer(tcp_connect(sink_port), 9, len);
    double s1 = (double)(now_us() - t0) / 1e6;
    report(rc == 0, "tcp_to_guest_256MiB_checksum", "rc %d, %.2f s, %.0f MiB/s", rc, s1, 256 / s1);
    t0 = now_us();
    bool ok = source_ok(tcp_connect(source_port), len, why, sizeof(why));
    double s2 = (double)(now_us() - t0) / 1e6;
    report(ok, "guest_to_tcp_256MiB_checksum", "%s %.2f s, %.0f MiB/s", why, s2, 256 / s2);
}

/* Frontend goes away with a connection open: the host stream must be closed. */
static struct frontend *test_reconnect(struct frontend *fe)
{
    char err[160], line[64];
    uint32_t hp;
    uint64_t n, h;
    int fd = uds_connect(uds_path, PORT_ECHO, &hp, line, sizeof(line));
    bool opened = fd >= 0 && send(fd, "abc", 3, MSG_NOSIGNAL) == 3;
    usleep(50000);
    fe_stop(fe);
    bool closed = opened && drain(fd, NULL, 0, &n, &h, 30000) >= 0;
    if (fd >= 0)
        close(fd);
    report(opened && closed, "disconnect_closes_host_streams", "opened %d closed %d", opened,
           closed);
    fe = fe_start(sock_path, err, sizeof(err));
    report(fe != NULL, "reconnect", "%s", fe ? "" : err);
    if (!fe)
        return NULL;
    char why[160] = "";
    report(echo_ok(tcp_connect(echo_port), 5, 1 << 20, why, sizeof(why)), "echo_after_reconnect",
           "%s", why);
    return fe;
}

struct bg_echo {
    uint64_t len;
    bool ok;
    char why[128];
};

static void *bg_echo_run(void *arg)
{
    struct bg_echo *e = arg;
    e->ok = echo_ok(tcp_connect(echo_port), 11, e->len, e->why, sizeof(e->why));
    return NULL;
}

/* Bad packets from the guest while a transfer runs: they get RSTs or are
 * dropped, and the transfer is not disturbed. */
static void test_bad_packets(struct frontend *fe)
{
    struct bg_echo e = {.len = 16 << 20};
    pthread_t t;
    pthread_create(&t, NULL, bg_echo_run, &e);
    usleep(20000);
    unsigned long rst0 = fe_stray_rsts(fe);
    struct vsock_hdr h = {.src_cid = GUEST_CID,
                          .dst_cid = 2,
                          .src_port = 7001,
                          .dst_port = 7002,
                          .type = VSOCK_TYPE_STREAM,
                          .op = VSOCK_OP_RW,
                          .len = 4};
    fe_inject(fe, &h, "junk", 4, VSOCK_HDR_SIZE + 4); /* data for no connection: RST */
    h.op = VSOCK_OP_REQUEST;
    h.len = 0;
    h.type = VSOCK_TYPE_SEQPACKET; /* not offered: RST */
    fe_inject(fe, &h, "", 0, VSOCK_HDR_SIZE);
    h.type = VSOCK_TYPE_STREAM;
    h.dst_cid = 99; /* not the host: RST */
    fe_inject(fe, &h, "", 0, VSOCK_HDR_SIZE);
    h.dst_cid = 2;
    h.op = VSOCK_OP_RW;
    h.len = 60000; /* longer than its buffer: dropped */
    fe_inject(fe, &h, "", 0, VSOCK_HDR_SIZE + 10);
    fe_inject(fe, &h, "", 0, 20); /* shorter than a header: dropped */
    pthread_join(t, NULL);
    /* The RSTs come back through the rings: wait for them (10 s at most),
     * then 50 ms more for any extra one. */
    for (int i = 0; i < 1000 && fe_stray_rsts(fe) - rst0 < 3; i++)
        usleep(10000);
    usleep(50000);
    unsigned long rsts = fe_stray_rsts(fe) - rst0;
    report(e.ok && rsts == 3, "bad_packets_rst_and_others_unharmed",
           "echo %s %s, %lu RSTs (want 3)", e.ok ? "ok" : "failed:", e.why, rsts);
}

static struct frontend *test_hostile(struct frontend *fe)
{
    char err[160], why[160] = "";
    /* A descriptor outside guest memory: the daemon stops the queue, survives. */
    fe_post_bad_tx(fe);
    usleep(100000);
    int fd = tcp_connect(echo_port);
    bool alive = fd >= 0;
    if (fd >= 0)
        close(fd);
    fe_stop(fe);
    fe = fe_start(sock_path, err, sizeof(err));
    report(alive && fe, "bad_descriptor_survived", "%s", fe ? "" : err);
    if (!fe)
        return NULL;
    report(echo_ok(tcp_connect(echo_port), 6, 1 << 16, why, sizeof(why)), "echo_after_bad_desc",
           "%s", why);
    /* Malformed vhost-user messages close the connection. */
    const struct {
        const char *name;
        uint32_t hdr[3];
    } bad[] = {
        {"oversized_message", {1, 1, 100000}},
        {"bad_version", {1, 2, 0}},
        {"unknown_request", {77, 1, 0}},
        {"truncated_payload", {2 /* SET_FEATURES */, 1, 4}},
    };
    for (unsigned i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        uint8_t msg[16] = {0};
        memcpy(msg, bad[i].hdr, 12);
        bool sent = fe_send_raw(fe, msg, bad[i].hdr[2] == 4 ? 16 : 12) == 0;
        bool closed = sent && fe_wait_closed(fe, 3000);
        fe_stop(fe);
        char name[64];
        snprintf(name, sizeof(name), "vhost_user_%s_closes", bad[i].name);
        report(closed, name, "%s", closed ? "" : "connection stayed open");
        fe = fe_start(sock_path, err, sizeof(err));
        if (!fe) {
            report(false, "reconnect_after_bad_message", "%s", err);
            return NULL;
        }
    }
    report(echo_ok(tcp_connect(echo_port), 7, 1 << 16, why, sizeof(why)), "echo_after_bad_messages",
           "%s", why);
    return fe;
}

static int run_tests(void)
{
    char err[160];
    struct frontend *fe = fe_start(sock_path, err, sizeof(err));
    report(fe != NULL, "handshake", "%s", fe ? "" : err);
    if (!fe)
        return 1;
    test_basic(fe);
    test_concurrent();
    test_big();
    test_bad_packets(fe);
    report(fe_errors(fe) == 0, "guest_saw_no_protocol_errors", "%lu errors", fe_errors(fe));
    fe = test_reconnect(fe);
    if (fe)
        fe = test_hostile(fe);
    if (fe)
        fe_stop(fe);
    return failures ? 1 : 0;
}

/* ---- benchmark helpers ---- */

static volatile sig_atomic_t stop_flag;
static bool serve_source; /* server mode: source (else sink) */
static void on_signal(int s)
{
    (void)s;
    stop_flag = 1;
}

static int run_guest(void)
{
    char err[160];
    struct frontend *fe = fe_start(sock_path, err, sizeof(err));
    if (!fe) {
        fprintf(stderr, "vsockd-driver: %s\n", err);
        return 1;
    }
    signal(SIGTERM, on_signal);
    signal(SIGINT, on_signal);
    printf("ready\n");
    fflush(stdout);
    while (!stop_flag)
        pause();
    fe_stop(fe);
    return 0;
}

static struct {
    uint16_t tcp;
    const char *uds;      /* hybrid: CONNECT line first */
    const char *unix_raw; /* plain Unix stream */
    uint32_t port;
    uint64_t bytes;
    int conns, parallel;
    int next;
    int failed;
    uint64_t max_xfer_us;
    pthread_mutex_t lock;
} bench = {.port = PORT_SINK, .conns = 1, .parallel = 1, .lock = PTHREAD_MUTEX_INITIALIZER};

/* One benchmark connection: returns 0 if verified; *xfer_us is the transfer
 * alone (connect to the last byte), without computing the expected hash. */
static int bench_one(int i, uint64_t *xfer_us)
{
    uint32_t hp;
    char line[64];
    uint64_t rn, rh, t0 = now_us(), len = bench.bytes;
    int fd = bench.uds        ? uds_connect(bench.uds, bench.port, &hp, line, sizeof(line))
             : bench.unix_raw ? unix_connect(bench.unix_raw)
                              : tcp_connect(bench.tcp);
    if (fd < 0)
        return -1;
    int rc = bench.port == PORT_SOURCE ? exchange(fd, &len, 8, 0, 0, &rn, &rh, 60000)
                                       : exchange(fd, NULL, 0, (uint64_t)i, len, &rn, &rh, 60000);
    *xfer_us = now_us() - t0;
    close(fd);
    if (rc)
        return -1;
    if (bench.port == PORT_SOURCE)
        return rn == len && rh == pattern_hash(len, len) ? 0 : -1;
    /* the sink answered {count, hash}: compare with the hash of the expected answer */
    uint64_t expect[2] = {len, pattern_hash((uint64_t)i, len)};
    struct stream_hash sh;
    hash_init(&sh);
    hash_update(&sh, (const uint8_t *)expect, 16);
    return rn == 16 && hash_final(&sh) == rh ? 0 : -1;
}

static void *bench_worker(void *arg)
{
    (void)arg;
    for (;;) {
        pthread_mutex_lock(&bench.lock);
        int i = bench.next++;
        pthread_mutex_unlock(&bench.lock);
        if (i >= bench.conns)
            return NULL;
        uint64_t us = 0;
        int rc = bench_one(i, &us);
        pthread_mutex_lock(&bench.lock);
        bench.failed += rc != 0;
        if (us > bench.max_xfer_us)
            bench.max_xfer_us = us;
        pthread_mutex_unlock(&bench.lock);
    }
}

/* The guest's sink and source services on a Unix socket: what socat relays to. */
static void *serve_conn(void *arg)
{
    int fd = (int)(intptr_t)arg;
    uint64_t n, h;
    if (!serve_source) {
        uint64_t ans[2];
        if (drain(fd, NULL, 0, &n, &h, 60000) == 0) {
            ans[0] = n;
            ans[1] = h; /* drain hashes as the guest sink does */
            if (send(fd, ans, 16, MSG_NOSIGNAL) != 16) {
            }
        }
    } else {
        uint64_t len;
        if (recv(fd, &len, 8, MSG_WAITALL) == 8)
            send_pattern(fd, len, len); /* seed N, as the guest's source */
    }
    close(fd);
    return NULL;
}

static int run_server(void)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", uds_path);
    unlink(uds_path);
    int lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (lfd < 0 || bind(lfd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(lfd, 512) < 0) {
        perror("vsockd-driver server");
        return 1;
    }
    printf("ready\n");
    for (;;) {
        int fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
        if (fd < 0)
            continue;
        struct timeval tv = {60, 0};
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
        pthread_t t;
        if (pthread_create(&t, NULL, serve_conn, (void *)(intptr_t)fd) == 0)
            pthread_detach(t);
        else
            close(fd);
    }
}

static int run_client(void)
{
    pthread_t t[256];
    int n = bench.parallel > 256 ? 256 : bench.parallel;
    uint64_t t0 = now_us();
    for (int i = 0; i < n; i++)
        pthread_create(&t[i], NULL, bench_worker, NULL);
    for (int i = 0; i < n; i++)
        pthread_join(t[i], NULL);
    double s = (double)(now_us() - t0) / 1e6;
    printf("bytes=%llu seconds=%.4f xfer_seconds=%.4f conns=%d failed=%d\n",
           (unsigned long long)bench.bytes * (unsigned long long)bench.conns, s,
           (double)bench.max_xfer_us / 1e6, bench.conns, bench.failed);
    return bench.failed ? 1 : 0;
}

int main(int argc, char **argv)
{
    static const struct option lo[] = {
        {"socket", 1, 0, 's'},    {"uds", 1, 0, 'u'},         {"echo-port", 1, 0, 'e'},
        {"sink-port", 1, 0, 'k'}, {"source-port", 1, 0, 'o'}, {"tcp", 1, 0, 't'},
        {"port", 1, 0, 'p'},      {"bytes", 1, 0, 'b'},       {"conns", 1, 0, 'c'},
        {"parallel", 1, 0, 'j'},  {"unix", 1, 0, 'x'},        {0, 0, 0, 0}};
    int ch;
    if (argc < 2) {
        fprintf(stderr, "usage: vsockd-driver test|guest|client [options] (see driver.c)\n");
        return 2;
    }
    const char *mode = argv[1];
    optind = 2;
    while ((ch = getopt_long(argc, argv, "", lo, NULL)) != -1) {
        switch (ch) {
        case 's':
            sock_path = optarg;
            break;
        case 'u':
            uds_path = optarg;
            bench.uds = optarg;
            break;
        case 'e':
            echo_port = (uint16_t)atoi(optarg);
            break;
        case 'k':
            sink_port = (uint16_t)atoi(optarg);
            break;
        case 'o':
            source_port = (uint16_t)atoi(optarg);
            break;
        case 't':
            bench.tcp = (uint16_t)atoi(optarg);
            break;
        case 'p':
            bench.port = (uint32_t)atoi(optarg);
            break;
        case 'b':
            bench.bytes = strtoull(optarg, NULL, 0);
            break;
        case 'c':
            bench.conns = atoi(optarg);
            break;
        case 'j':
            bench.parallel = atoi(optarg);
            break;
        case 'x':
            bench.unix_raw = optarg;
            break;
        default:
            return 2;
        }
    }
    signal(SIGPIPE, SIG_IGN);
    setvbuf(stdout, NULL, _IOLBF, 0);
    if (!strcmp(mode, "test"))
        return sock_path && uds_path ? run_tests() : 2;
    if (!strcmp(mode, "guest"))
        return sock_path ? run_guest() : 2;
    if (!strcmp(mode, "client"))
        return run_client();
    if (!strcmp(mode, "sink-server") || !strcmp(mode, "source-server")) {
        serve_source = !strcmp(mode, "source-server");
        return uds_path ? run_server() : 2;
    }
    fprintf(stderr, "vsockd-driver: unknown mode %s\n", mode);
    return 2;
}
