/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The host library (host/common): the hybrid vsock port lines ("OK <port>\n"
 * from the VMM, "CONNECT <port>\n" from clients), --publish, numbers, the
 * option checks, Unix listeners and their queues, the accept gate (with a
 * real epoll), rate-limited log lines and the control socket.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "common/control.h"
#include "common/gate.h"
#include "common/log.h"
#include "common/loop.h"
#include "common/number.h"
#include "common/options.h"
#include "common/port_line.h"
#include "common/publish.h"
#include "test.h"

static int parse_prefixed(const char *prefix, const char *s, size_t n, uint64_t *port, size_t *used)
{
    struct port_line p;
    port_line_init(&p, prefix);
    *used = port_line_feed(&p, (const uint8_t *)s, n);
    *port = p.port;
    return p.status;
}
#define parse_whole(s, n, port, used) parse_prefixed(PORT_LINE_OK, s, n, port, used)
#define WHOLE(s, port, used)          parse_whole(s, strlen(s), port, used)
#define CONNECT_WHOLE(s, port, used)  parse_prefixed(PORT_LINE_CONNECT, s, strlen(s), port, used)

TEST(ok_valid_lines)
{
    uint64_t port;
    size_t used;
    CHECK_EQ(WHOLE("OK 1073741824\n", &port, &used), PORT_LINE_DONE);
    CHECK_EQ(port, 1073741824);
    CHECK_EQ(used, 14);
    CHECK_EQ(WHOLE("OK 0\n", &port, &used), PORT_LINE_DONE);
    CHECK_EQ(port, 0);
    CHECK_EQ(WHOLE("OK 4294967295\n", &port, &used), PORT_LINE_DONE);
    CHECK_EQ(port, 4294967295u);
    CHECK_EQ(WHOLE("OK 0000000007\n", &port, &used), PORT_LINE_DONE); /* 10 digits */
    CHECK_EQ(port, 7);
}

TEST(ok_crlf)
{
    uint64_t port;
    size_t used;
    CHECK_EQ(WHOLE("OK 52\r\n", &port, &used), PORT_LINE_DONE);
    CHECK_EQ(port, 52);
    CHECK_EQ(used, 7);
    CHECK_EQ(WHOLE("OK 52\r\r\n", &port, &used),
             PORT_LINE_DONE); /* blanks and CRs before the end */
    CHECK_EQ(WHOLE("OK 52\rx", &port, &used), PORT_LINE_ERROR);
    CHECK_EQ(WHOLE("OK \r\n", &port, &used), PORT_LINE_ERROR);
    CHECK_EQ(WHOLE("OK 52\r", &port, &used), PORT_LINE_MORE);
}

TEST(ok_bytes_after_the_line_are_not_consumed)
{
    uint64_t port;
    size_t used;
    static const char s[] = "OK 9\nstream\0data";
    CHECK_EQ(parse_whole(s, sizeof(s) - 1, &port, &used), PORT_LINE_DONE);
    CHECK_EQ(used, 5);
    CHECK_EQ(port, 9);
    /* A finished parser takes nothing more, in either outcome. */
    struct port_line p;
    port_line_init(&p, PORT_LINE_OK);
    CHECK_EQ(port_line_feed(&p, (const uint8_t *)"OK 1\n", 5), 5);
    CHECK_EQ(port_line_feed(&p, (const uint8_t *)"OK 2\n", 5), 0);
    CHECK_EQ(p.port, 1);
    port_line_init(&p, PORT_LINE_OK);
    CHECK_EQ(port_line_feed(&p, (const uint8_t *)"NO\n", 3), 1);
    CHECK_EQ(p.status, PORT_LINE_ERROR);
    CHECK_EQ(port_line_feed(&p, (const uint8_t *)"OK 2\n", 5), 0);
}

TEST(ok_split_across_reads)
{
    static const char s[] = "OK 1234\r\nxyz";
    /* Every split point, and one byte at a time. */
    for (size_t cut = 0; cut <= 9; cut++) {
        struct port_line p;
        port_line_init(&p, PORT_LINE_OK);
        size_t a = port_line_feed(&p, (const uint8_t *)s, cut);
        CHECK_EQ(a, cut);
        CHECK_EQ(p.status, cut == 9 ? PORT_LINE_DONE : PORT_LINE_MORE);
        size_t b = port_line_feed(&p, (const uint8_t *)s + cut, sizeof(s) - 1 - cut);
        CHECK_EQ(a + b, 9);
        CHECK_EQ(p.status, PORT_LINE_DONE);
        CHECK_EQ(p.port, 1234);
    }
    struct port_line p;
    port_line_init(&p, PORT_LINE_OK);
    size_t total = 0;
    for (size_t i = 0; i < sizeof(s) - 1; i++)
        total += port_line_feed(&p, (const uint8_t *)s + i, 1);
    CHECK_EQ(total, 9);
    CHECK_EQ(p.status, PORT_LINE_DONE);
}

TEST(ok_garbage_rejected)
{
    static const char *const bad[] = {
        "OK\n",      "OK \n",    "OK -5\n",  "OK +5\n",  "OK 5x\n",  "OK 0x10\n",
        "NOTOK 5\n", "\nOK 5\n", "OK5\n",    "OK 1 2\n", "OK 5 x\n", "CONNECT 5000\n",
        "ERR 1\n",   "O K 5\n",  "OKAY 5\n", "OK\v5\n",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        uint64_t port;
        size_t used;
        size_t n = strlen(bad[i]);
        int st = parse_whole(bad[i], n, &port, &used);
        if (st != PORT_LINE_ERROR)
            test_fail(__FILE__, __LINE__, "'%s' gave status %d", bad[i], st);
        CHECK(st == PORT_LINE_ERROR);
        CHECK(used <= n);
    }
    /* NUL inside the line */
    uint64_t port;
    size_t used;
    CHECK_EQ(parse_whole("OK 5\0\n", 6, &port, &used), PORT_LINE_ERROR);
    CHECK_EQ(used, 5);
}

TEST(ok_port_overflow)
{
    uint64_t port;
    size_t used;
    CHECK_EQ(WHOLE("OK 4294967296\n", &port, &used), PORT_LINE_ERROR);
    CHECK_EQ(WHOLE("OK 99999999999\n", &port, &used), PORT_LINE_ERROR);
    CHECK_EQ(WHOLE("OK 000000000004294967296\n", &port, &used), PORT_LINE_ERROR);
    CHECK_EQ(WHOLE("OK 18446744073709551617\n", &port, &used), PORT_LINE_ERROR);
}

TEST(ok_too_long)
{
    char s[200];
    memset(s, '0', sizeof(s));
    memcpy(s, "OK ", 3);
    uint64_t port;
    size_t used;
    /* An endless run of digits stops being read at once, long before the end. */
    CHECK_EQ(parse_whole(s, sizeof(s), &port, &used), PORT_LINE_ERROR);
    CHECK(used <= PORT_LINE_MAX);
    /* Nothing in the grammar exceeds the bound: the longest valid line fits. */
    CHECK_EQ(WHOLE("OK 4294967295\r\n", &port, &used), PORT_LINE_DONE);
    CHECK(used <= PORT_LINE_MAX);
    /* Fed in pieces, the bound holds as well. */
    struct port_line p;
    port_line_init(&p, PORT_LINE_OK);
    size_t total = 0;
    for (size_t i = 0; i < sizeof(s); i += 3)
        total += port_line_feed(&p, (const uint8_t *)s + i, 3);
    CHECK_EQ(p.status, PORT_LINE_ERROR);
    CHECK(total <= PORT_LINE_MAX);
}

/* The CONNECT line: the same parser with the client's word. */
TEST(connect_valid_lines)
{
    uint64_t port;
    size_t used;
    CHECK_EQ(CONNECT_WHOLE("CONNECT 5000\n", &port, &used), PORT_LINE_DONE);
    CHECK_EQ(port, 5000);
    CHECK_EQ(used, 13);
    CHECK_EQ(CONNECT_WHOLE("CONNECT 4294967295\r\nDATA", &port, &used), PORT_LINE_DONE);
    CHECK_EQ(port, 4294967295u);
    CHECK_EQ(used, 20); /* stops right after the newline */
    CHECK_EQ(CONNECT_WHOLE("CONNECT 0\n", &port, &used), PORT_LINE_DONE);
}

/* What Firecracker's muxer accepts (it splits the line on whitespace and
 * matches the word in any case), so its clients' variants work here too. */
TEST(lines_as_firecracker_reads_them)
{
    static const struct {
        const char *line;
        uint64_t port;
    } good[] = {
        {"connect 5\n", 5},           {"Connect 5\n", 5},
        {"CONNECT  5\n", 5},          {"CONNECT\t5\n", 5},
        {"CONNECT 5 \n", 5},          {"  CONNECT 5\n", 5},
        {"CONNECT 5\t\r\n", 5},       {"CONNECT 5\r\r\n", 5},
        {"CONNECT 00000000001\n", 1}, {"CONNECT 0004294967295\n", 4294967295u},
    };
    for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
        uint64_t port = 0;
        size_t used;
        int st = CONNECT_WHOLE(good[i].line, &port, &used);
        if (st != PORT_LINE_DONE || port != good[i].port || used != strlen(good[i].line))
            test_fail(__FILE__, __LINE__, "'%s': status %d port %llu used %zu", good[i].line, st,
                      (unsigned long long)port, used);
    }
    uint64_t port;
    size_t used;
    CHECK_EQ(WHOLE("ok 7\n", &port, &used), PORT_LINE_DONE);
    CHECK_EQ(port, 7);
    CHECK_EQ(WHOLE(" OK\t 7 \n", &port, &used), PORT_LINE_DONE);
    CHECK_EQ(port, 7);
    /* The bound counts every byte: 32 with the newline is the most. */
    CHECK_EQ(CONNECT_WHOLE("CONNECT 000000000000000000000005\n", &port, &used), PORT_LINE_ERROR);
    CHECK_EQ(CONNECT_WHOLE("CONNECT 00000000000000000000005\n", &port, &used), PORT_LINE_DONE);
    CHECK_EQ(used, 32);
}

TEST(connect_one_byte_at_a_time)
{
    const char *s = "CONNECT 1234\nxyz";
    struct port_line p;
    port_line_init(&p, PORT_LINE_CONNECT);
    size_t total = 0;
    for (size_t i = 0; i < strlen(s) && p.status == PORT_LINE_MORE; i++)
        total += port_line_feed(&p, (const uint8_t *)s + i, 1);
    CHECK_EQ(p.status, PORT_LINE_DONE);
    CHECK_EQ(p.port, 1234);
    CHECK_EQ(total, 13);
    /* Once finished it takes nothing more. */
    CHECK_EQ(port_line_feed(&p, (const uint8_t *)"9", 1), 0);
}

TEST(connect_partial_line_needs_more)
{
    uint64_t port;
    size_t used;
    CHECK_EQ(CONNECT_WHOLE("", &port, &used), PORT_LINE_MORE);
    CHECK_EQ(CONNECT_WHOLE("CONN", &port, &used), PORT_LINE_MORE);
    CHECK_EQ(CONNECT_WHOLE("CONNECT 12", &port, &used), PORT_LINE_MORE);
    CHECK_EQ(used, 10);
}

TEST(connect_garbage_rejected)
{
    static const char *const bad[] = {
        "CONNECT\n",      "CONNECT \n",   "CONNECT -5\n", "CONNECT 4294967296\n", "CONNECT 5\rx",
        "CONNECT 5 6\n",  "CONNECTX 5\n", "CONNECT5\n",   "CONN ECT 5\n",         "HELLO\n",
        "CONNECT 0x10\n", "\n",           "OK 5\n",       "CONNECT \r\n",
    };
    for (unsigned i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        uint64_t port;
        size_t used;
        if (CONNECT_WHOLE(bad[i], &port, &used) != PORT_LINE_ERROR) {
            test_fail(__FILE__, __LINE__, "accepted '%s'", bad[i]);
            return;
        }
    }
}

TEST(connect_line_is_bounded)
{
    char s[200];
    memset(s, '0', sizeof(s));
    memcpy(s, "CONNECT ", 8);
    s[sizeof(s) - 1] = 0;
    uint64_t port;
    size_t used;
    CHECK_EQ(CONNECT_WHOLE(s, &port, &used), PORT_LINE_ERROR);
    CHECK(used <= PORT_LINE_MAX);
}

TEST(numbers)
{
    uint64_t v = 99;
    CHECK_EQ(parse_decimal("0", 0, 10, &v), 0);
    CHECK_EQ(v, 0);
    CHECK_EQ(parse_decimal("18446744073709551615", 0, UINT64_MAX, &v), 0);
    CHECK(v == UINT64_MAX);
    CHECK_EQ(parse_decimal("18446744073709551616", 0, UINT64_MAX, &v), -1); /* 2^64 */
    CHECK_EQ(parse_decimal("99999999999999999999999", 0, UINT64_MAX, &v), -1);
    CHECK_EQ(parse_decimal("0000000000000000000000042", 0, 100, &v), 0); /* zeros are fine */
    CHECK_EQ(v, 42);
    CHECK_EQ(parse_decimal("65536", 1, 65535, &v), -1);
    CHECK_EQ(parse_decimal("0", 1, 65535, &v), -1);
    static const char *const bad[] = {"", " 1", "1 ", "+1", "-1", "0x10", "1e3", "1.0", "1k"};
    for (unsigned i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        if (parse_decimal(bad[i], 0, 1000000, &v) != -1)
            test_fail(__FILE__, __LINE__, "accepted '%s'", bad[i]);
    CHECK_EQ(parse_digits("123abc", 1000, &v), 3); /* a prefix, for suffixed values */
    CHECK_EQ(v, 123);
    CHECK_EQ(parse_digits("abc", 1000, &v), -1);
    CHECK_EQ(parse_digits("1001", 1000, &v), -1);
}

TEST(publish_forms)
{
    struct publish_spec p;
    CHECK_EQ(publish_parse("8080:80", &p), 0);
    CHECK_STR(p.addr, "127.0.0.1");
    CHECK_EQ(p.host_port, 8080);
    CHECK_EQ(p.guest_port, 80);
    CHECK_EQ(publish_parse("0.0.0.0:2222:22", &p), 0);
    CHECK_STR(p.addr, "0.0.0.0");
    CHECK_EQ(p.host_port, 2222);
    CHECK_EQ(p.guest_port, 22);
    CHECK_EQ(publish_parse("10.1.2.3:65535:4294967294", &p), 0);
    CHECK_EQ(p.host_port, 65535);
    CHECK_EQ(p.guest_port, 4294967294u);
    CHECK_EQ(publish_parse("1:1", &p), 0);
    CHECK_EQ(p.host_port, 1);
    CHECK_EQ(p.guest_port, 1);
    static const char *const bad[] = {
        "",
        "80",
        ":80",
        "8080:",
        "0:80",
        "65536:80",
        "8080:-1",
        "8080:0",
        "8080:4294967295",
        "8080:4294967296",
        "x:8080:80",
        ":8080:80",
        "1.2.3:8080:80",
        "::1:8080:80",
        "1:2:3:4",
        "8080:80 ",
        " 8080:80",
        "8080: 80",
        "8080:+80",
        "255.255.255.255.1:1:1",
        "a:b",
        "1.2.3.4::80",
        "1.2.3.4:80:",
        "99999999999999999999:80",
        "8080:99999999999",
        "1.2.3.4.5:80:80",
        "256.0.0.1:80:80",
        "8080:80x",
        "-1:80",
        "+8080:80",
        "localhost:80:80",
        "1.2.3.4:80",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        if (publish_parse(bad[i], &p) != -1)
            test_fail(__FILE__, __LINE__, "'%s' accepted", bad[i]);
}

TEST(publish_options)
{
    struct publish_spec list[PUBLISH_MAX + 1];
    unsigned n = 0;
    char spec[32];
    log_prog = "test";
    CHECK_EQ(opt_publish("8080:80", list, &n), 0);
    CHECK_EQ(opt_publish("0.0.0.0:8080:81", list, &n), 0); /* another address, same port */
    CHECK_EQ(n, 2);
    CHECK_EQ(opt_publish("127.0.0.1:8080:82", list, &n), -1); /* published twice */
    CHECK_EQ(opt_publish("8080", list, &n), -1);
    CHECK_EQ(n, 2);
    for (unsigned i = 2; i < PUBLISH_MAX; i++) {
        snprintf(spec, sizeof(spec), "%u:1", 10000 + i);
        CHECK_EQ(opt_publish(spec, list, &n), 0);
    }
    CHECK_EQ(n, PUBLISH_MAX);
    CHECK_EQ(opt_publish("9999:1", list, &n), -1); /* one too many */
    CHECK_EQ(n, PUBLISH_MAX);
    uint64_t v;
    CHECK_EQ(opt_number("max-conns", "65536", 1, 65536, NULL, &v), 0);
    CHECK_EQ(v, 65536);
    CHECK_EQ(opt_number("max-conns", "0", 1, 65536, NULL, &v), -1);
    CHECK_EQ(opt_number("connect-timeout", "1x", 1, 10, "ms", &v), -1);
}

TEST(user_option)
{
    struct run_user u = {0};
    log_prog = "test";
    CHECK_EQ(opt_user("1000:1001", &u), 0);
    CHECK(u.set);
    CHECK_EQ(u.uid, 1000);
    CHECK_EQ(u.gid, 1001);
    CHECK_EQ(opt_user("nobody", &u), 0); /* Debian's: 65534, group nogroup */
    CHECK_EQ(u.uid, 65534);
    CHECK_EQ(u.gid, 65534);
    const char *bad[] = {"0:1",
                         "1:0",
                         ":5",
                         "5:",
                         "1:2:3",
                         "-1:5",
                         "4294967295:1",
                         "x:1",
                         "root",
                         "",
                         "no-such-user-here"};
    for (unsigned i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        u = (struct run_user){0};
        if (opt_user(bad[i], &u) != -1 || u.set)
            test_fail(__FILE__, __LINE__, "--user '%s' accepted", bad[i]);
    }
}

TEST(unix_listener_replaces_only_sockets)
{
    char dir[] = "/tmp/hostcommon.XXXXXX", path[128], err[160];
    CHECK(mkdtemp(dir) != NULL);
    snprintf(path, sizeof(path), "%s/s", dir);
    int fd = unix_listen(path, err, sizeof(err));
    CHECK(fd >= 0);
    /* A socket something listens on is never taken (a second daemon given
     * the same path used to cut the first off): the first keeps its path. */
    CHECK_EQ(unix_listen(path, err, sizeof(err)), -1);
    CHECK(strstr(err, "in use") != NULL);
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    memcpy(sa.sun_path, path, strlen(path) + 1);
    int cl = socket(AF_UNIX, SOCK_STREAM, 0);
    CHECK(cl >= 0 && connect(cl, (struct sockaddr *)&sa, sizeof(sa)) == 0);
    int ac = accept(fd, NULL, NULL);
    CHECK(ac >= 0); /* this probe's and the test's connections reach the first */
    close(ac);
    close(cl);
    close(fd); /* leaves a stale socket file behind, like a killed daemon */
    fd = unix_listen(path, err, sizeof(err));
    CHECK(fd >= 0);
    close(fd);
    unlink(path);
    FILE *f = fopen(path, "w"); /* a regular file is never replaced */
    CHECK(f != NULL);
    fclose(f);
    CHECK_EQ(unix_listen(path, err, sizeof(err)), -1);
    CHECK(strstr(err, "not a socket") != NULL);
    unlink(path);
    char longpath[120]; /* over sun_path's 108, and the message still fits err */
    memset(longpath, 'a', sizeof(longpath) - 1);
    longpath[sizeof(longpath) - 1] = 0;
    CHECK_EQ(unix_listen(longpath, err, sizeof(err)), -1);
    CHECK(strstr(err, "too long") != NULL);
    rmdir(dir);
}

/* A Unix listener in a fresh directory, with `pending` clients in its queue. */
static int listener_with_clients(char *dir, char *path, size_t len, int *clients, int pending)
{
    char err[160];
    if (!mkdtemp(dir))
        return -1;
    snprintf(path, len, "%s/l", dir);
    int fd = unix_listen(path, err, sizeof(err));
    for (int i = 0; fd >= 0 && i < pending; i++) {
        struct sockaddr_un sa = {.sun_family = AF_UNIX};
        if (strlen(path) >= sizeof(sa.sun_path))
            return -1;
        memcpy(sa.sun_path, path, strlen(path) + 1);
        clients[i] = socket(AF_UNIX, SOCK_STREAM, 0);
        if (connect(clients[i], (struct sockaddr *)&sa, sizeof(sa)) < 0)
            return -1;
    }
    return fd;
}

/* What epoll reports for the gate's listener now (0: nothing). */
static int ready_now(void)
{
    struct epoll_event ev;
    return epoll_wait(loop_epfd, &ev, 1, 0);
}

TEST(gate_pauses_at_the_limit_and_resumes)
{
    char dir[] = "/tmp/hostcommon.XXXXXX", path[128];
    int clients[3];
    int fd = listener_with_clients(dir, path, sizeof(path), clients, 3);
    CHECK(fd >= 0);
    CHECK_EQ(listen_queued(fd), 3); /* the kernel holds them */
    CHECK_EQ(loop_init(), 0);
    struct watch w = {.fd = fd};
    struct accept_gate g;
    gate_init(&g, 2);
    CHECK_EQ(loop_add(&w, EPOLLIN), 0);
    CHECK_EQ(gate_add(&g, &w), 0);
    log_level = -1;
    CHECK_EQ(ready_now(), 1);
    CHECK(gate_open(&g, 1, 0));
    CHECK(!gate_open(&g, 2, 0)); /* at the limit */
    gate_update(&g, 2, 1000);
    CHECK(g.paused);
    CHECK_EQ(g.pauses, 1);
    CHECK_EQ(ready_now(), 0); /* clients wait in the queue, unseen */
    CHECK_EQ(listen_queued(fd), 3);
    CHECK_EQ(gate_queued(&g), 3);
    gate_update(&g, 1, 1001); /* a connection ended */
    CHECK(!g.paused);
    CHECK_EQ(ready_now(), 1); /* the queue shows again */
    gate_update(&g, 2, 1002);
    gate_update(&g, 2, 1003); /* still at the limit: no second pause counted */
    CHECK_EQ(g.pauses, 2);
    /* Out of descriptors: a hold closes the gate for its time, even below the limit. */
    gate_update(&g, 0, 1004);
    gate_hold(&g, 2000, 100, "accept", EMFILE);
    CHECK(g.paused);
    CHECK_EQ(gate_deadline(&g), 2100);
    CHECK(!gate_open(&g, 0, 2099));
    gate_update(&g, 0, 2099);
    CHECK(g.paused);
    gate_update(&g, 0, 2100);
    CHECK(!g.paused);
    CHECK_EQ(gate_deadline(&g), 0);
    CHECK_EQ(g.holds, 1);
    CHECK_EQ(g.pauses, 2); /* holds are not limit pauses */
    for (int i = 0; i < 3; i++)
        close(clients[i]);
    close(fd);
    close(loop_epfd);
    loop_epfd = -1;
    unlink(path);
    rmdir(dir);
}

TEST(log_lines_are_rate_limited)
{
    struct log_limit l = {0};
    uint64_t skipped = 99;
    CHECK(log_due(&l, 0, 10000, &skipped)); /* the first, even at time 0 */
    CHECK_EQ(skipped, 0);
    CHECK(!log_due(&l, 1, 10000, &skipped));
    CHECK(!log_due(&l, 9999, 10000, &skipped));
    CHECK(log_due(&l, 10000, 10000, &skipped));
    CHECK_EQ(skipped, 2);
    CHECK(!log_due(&l, 10001, 10000, &skipped));
}

static size_t fake_stats(char *buf, size_t len)
{
    size_t off = 0;
    control_kv(buf, len, &off, "active", 3);
    control_kv(buf, len, &off, "peak", 18446744073709551615ull);
    return off;
}

/* Runs the control socket's loop until a client has been answered. */
static void *control_server(void *arg)
{
    struct control *c = arg;
    for (int answered = 0; answered < 3;) {
        struct epoll_event ev;
        if (epoll_wait(loop_epfd, &ev, 1, 5000) != 1)
            return NULL;
        struct watch *w = ev.data.ptr;
        if (w == &c->listen_w) {
            control_accept(c);
        } else {
            control_input(c, w);
            answered += w->fd < 0;
        }
    }
    return NULL;
}

TEST(control_socket_answers_stats)
{
    char dir[] = "/tmp/hostcommon.XXXXXX", path[128], err[160], out[256];
    CHECK(mkdtemp(dir) != NULL);
    snprintf(path, sizeof(path), "%s/ctl", dir);
    CHECK_EQ(loop_init(), 0);
    struct control c;
    CHECK_EQ(control_open(&c, path, 1, 2, fake_stats, err, sizeof(err)), 0);
    pthread_t t;
    CHECK_EQ(pthread_create(&t, NULL, control_server, &c), 0);
    int q1 = control_query(path, "stats", out, sizeof(out), 5000);
    char first[256];
    snprintf(first, sizeof(first), "%s", out);
    int q2 = control_query(path, "bogus", out, sizeof(out), 5000);
    char second[256];
    snprintf(second, sizeof(second), "%s", out);
    /* A line longer than any command: the client sees the close, no answer. */
    char longcmd[CONTROL_LINE_MAX + 8];
    memset(longcmd, 'x', sizeof(longcmd) - 1);
    longcmd[sizeof(longcmd) - 1] = 0;
    CHECK_EQ(control_query(path, longcmd, out, sizeof(out), 5000), -1); /* refused at home */
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    memcpy(sa.sun_path, path, strlen(path) + 1);
    int raw = socket(AF_UNIX, SOCK_STREAM, 0);
    CHECK(connect(raw, (struct sockaddr *)&sa, sizeof(sa)) == 0);
    CHECK(send(raw, longcmd, sizeof(longcmd) - 1, 0) == (ssize_t)sizeof(longcmd) - 1);
    ssize_t got = recv(raw, out, sizeof(out), 0);
    int q3 = got <= 0 ? 0 : -1; /* closed (or reset: our bytes were left unread) */
    out[0] = 0;
    close(raw);
    pthread_join(t, NULL);
    CHECK_EQ(q1, 0);
    CHECK_STR(first, "active 3\npeak 18446744073709551615\n");
    CHECK_EQ(q2, 0);
    CHECK(strncmp(second, "error unknown command 'bogus'", 29) == 0);
    CHECK_EQ(q3, 0);
    CHECK_STR(out, "");
    control_close(&c);
    CHECK(access(path, F_OK) != 0); /* the socket file is gone */
    CHECK_EQ(control_query(path, "stats", out, sizeof(out), 100), -1);
    close(loop_epfd);
    loop_epfd = -1;
    rmdir(dir);
}
