/* SPDX-License-Identifier: BSD-2-Clause */
/* miura-proxy's parsers: the VMM's "OK <port>\n" reply and --publish. */
#include <string.h>

#include "proxy/ok_line.h"
#include "proxy/publish.h"
#include "test.h"

static int parse_whole(const char *s, size_t n, uint64_t *port, size_t *used)
{
    struct ok_line p;
    ok_line_init(&p);
    *used = ok_line_feed(&p, (const uint8_t *)s, n);
    *port = p.port;
    return p.status;
}
#define WHOLE(s, port, used) parse_whole(s, strlen(s), port, used)

TEST(ok_valid_lines)
{
    uint64_t port;
    size_t used;
    CHECK_EQ(WHOLE("OK 1073741824\n", &port, &used), OK_LINE_DONE);
    CHECK_EQ(port, 1073741824);
    CHECK_EQ(used, 14);
    CHECK_EQ(WHOLE("OK 0\n", &port, &used), OK_LINE_DONE);
    CHECK_EQ(port, 0);
    CHECK_EQ(WHOLE("OK 4294967295\n", &port, &used), OK_LINE_DONE);
    CHECK_EQ(port, 4294967295u);
    CHECK_EQ(WHOLE("OK 0000000007\n", &port, &used), OK_LINE_DONE); /* 10 digits */
    CHECK_EQ(port, 7);
}

TEST(ok_crlf)
{
    uint64_t port;
    size_t used;
    CHECK_EQ(WHOLE("OK 52\r\n", &port, &used), OK_LINE_DONE);
    CHECK_EQ(port, 52);
    CHECK_EQ(used, 7);
    CHECK_EQ(WHOLE("OK 52\r\r\n", &port, &used), OK_LINE_ERROR);
    CHECK_EQ(WHOLE("OK 52\rx", &port, &used), OK_LINE_ERROR);
    CHECK_EQ(WHOLE("OK \r\n", &port, &used), OK_LINE_ERROR);
    CHECK_EQ(WHOLE("OK 52\r", &port, &used), OK_LINE_MORE);
}

TEST(ok_bytes_after_the_line_are_not_consumed)
{
    uint64_t port;
    size_t used;
    static const char s[] = "OK 9\nstream\0data";
    CHECK_EQ(parse_whole(s, sizeof(s) - 1, &port, &used), OK_LINE_DONE);
    CHECK_EQ(used, 5);
    CHECK_EQ(port, 9);
    /* A finished parser takes nothing more, in either outcome. */
    struct ok_line p;
    ok_line_init(&p);
    CHECK_EQ(ok_line_feed(&p, (const uint8_t *)"OK 1\n", 5), 5);
    CHECK_EQ(ok_line_feed(&p, (const uint8_t *)"OK 2\n", 5), 0);
    CHECK_EQ(p.port, 1);
    ok_line_init(&p);
    CHECK_EQ(ok_line_feed(&p, (const uint8_t *)"NO\n", 3), 1);
    CHECK_EQ(p.status, OK_LINE_ERROR);
    CHECK_EQ(ok_line_feed(&p, (const uint8_t *)"OK 2\n", 5), 0);
}

TEST(ok_split_across_reads)
{
    static const char s[] = "OK 1234\r\nxyz";
    /* Every split point, and one byte at a time. */
    for (size_t cut = 0; cut <= 9; cut++) {
        struct ok_line p;
        ok_line_init(&p);
        size_t a = ok_line_feed(&p, (const uint8_t *)s, cut);
        CHECK_EQ(a, cut);
        CHECK_EQ(p.status, cut == 9 ? OK_LINE_DONE : OK_LINE_MORE);
        size_t b = ok_line_feed(&p, (const uint8_t *)s + cut, sizeof(s) - 1 - cut);
        CHECK_EQ(a + b, 9);
        CHECK_EQ(p.status, OK_LINE_DONE);
        CHECK_EQ(p.port, 1234);
    }
    struct ok_line p;
    ok_line_init(&p);
    size_t total = 0;
    for (size_t i = 0; i < sizeof(s) - 1; i++)
        total += ok_line_feed(&p, (const uint8_t *)s + i, 1);
    CHECK_EQ(total, 9);
    CHECK_EQ(p.status, OK_LINE_DONE);
}

TEST(ok_garbage_rejected)
{
    static const char *const bad[] = {
        "ok 5\n",  "OK\n",     "OK \n",     "OK  5\n",        "OK 5 \n",  "OK -5\n",
        "OK +5\n", "OK 5x\n",  "OK 0x10\n", "NOTOK 5\n",      "\nOK 5\n", " OK 5\n",
        "OK5\n",   "OK 1 2\n", "OK\t5\n",   "CONNECT 5000\n", "ERR 1\n",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        uint64_t port;
        size_t used;
        size_t n = strlen(bad[i]);
        int st = parse_whole(bad[i], n, &port, &used);
        if (st != OK_LINE_ERROR)
            test_fail(__FILE__, __LINE__, "'%s' gave status %d", bad[i], st);
        CHECK(st == OK_LINE_ERROR);
        CHECK(used <= n);
    }
    /* NUL inside the line */
    uint64_t port;
    size_t used;
    CHECK_EQ(parse_whole("OK 5\0\n", 6, &port, &used), OK_LINE_ERROR);
    CHECK_EQ(used, 5);
}

TEST(ok_port_overflow)
{
    uint64_t port;
    size_t used;
    CHECK_EQ(WHOLE("OK 4294967296\n", &port, &used), OK_LINE_ERROR);
    CHECK_EQ(WHOLE("OK 99999999999\n", &port, &used), OK_LINE_ERROR);
    CHECK_EQ(WHOLE("OK 00000000001\n", &port, &used), OK_LINE_ERROR); /* 11 digits */
    CHECK_EQ(WHOLE("OK 18446744073709551617\n", &port, &used), OK_LINE_ERROR);
}

TEST(ok_too_long)
{
    char s[200];
    memset(s, '0', sizeof(s));
    memcpy(s, "OK ", 3);
    uint64_t port;
    size_t used;
    /* An endless run of digits stops being read at once, long before the end. */
    CHECK_EQ(parse_whole(s, sizeof(s), &port, &used), OK_LINE_ERROR);
    CHECK(used <= OK_LINE_MAX);
    /* Nothing in the grammar exceeds the bound: the longest valid line fits. */
    CHECK_EQ(WHOLE("OK 4294967295\r\n", &port, &used), OK_LINE_DONE);
    CHECK(used <= OK_LINE_MAX);
    /* Fed in pieces, the bound holds as well. */
    struct ok_line p;
    ok_line_init(&p);
    size_t total = 0;
    for (size_t i = 0; i < sizeof(s); i += 3)
        total += ok_line_feed(&p, (const uint8_t *)s + i, 3);
    CHECK_EQ(p.status, OK_LINE_ERROR);
    CHECK(total <= OK_LINE_MAX);
}

TEST(publish_forms)
{
    struct publish p;
    char err[160];
    CHECK_EQ(publish_parse("8080:80", &p, err, sizeof(err)), 0);
    CHECK_STR(p.addr, "127.0.0.1");
    CHECK_EQ(p.host_port, 8080);
    CHECK_EQ(p.guest_port, 80);
    CHECK_EQ(publish_parse("0.0.0.0:1:4294967295", &p, err, sizeof(err)), 0);
    CHECK_STR(p.addr, "0.0.0.0");
    CHECK_EQ(p.host_port, 1);
    CHECK_EQ(p.guest_port, 4294967295u);
    CHECK_EQ(publish_parse("10.1.2.3:65535:0", &p, err, sizeof(err)), 0);
    CHECK_EQ(p.host_port, 65535);
    static const char *const bad[] = {
        "",
        "80",
        ":80",
        "8080:",
        "0:80",
        "65536:80",
        "8080:-1",
        "8080:4294967296",
        "x:8080:80",
        ":8080:80",
        "1.2.3:8080:80",
        "::1:8080:80",
        "8080:80 ",
        " 8080:80",
        "255.255.255.255.1:1:1",
        "8080:+80",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        if (publish_parse(bad[i], &p, err, sizeof(err)) != -1)
            test_fail(__FILE__, __LINE__, "'%s' accepted", bad[i]);
        CHECK(strstr(err, "bad --publish") != NULL);
    }
}
