/* SPDX-License-Identifier: BSD-2-Clause */
/* The hybrid-vsock CONNECT line parser. */
#include <string.h>

#include "test.h"
#include "vsockd/connect_line.h"

static int parse_whole(const char *s, uint64_t *port, size_t *used)
{
    struct connect_line p;
    connect_line_init(&p);
    *used = connect_line_feed(&p, (const uint8_t *)s, strlen(s));
    *port = p.port;
    return p.status;
}

TEST(valid_lines)
{
    uint64_t port;
    size_t used;
    CHECK_EQ(parse_whole("CONNECT 5000\n", &port, &used), CONNECT_LINE_DONE);
    CHECK_EQ(port, 5000);
    CHECK_EQ(used, 13);
    CHECK_EQ(parse_whole("CONNECT 4294967295\r\nDATA", &port, &used), CONNECT_LINE_DONE);
    CHECK_EQ(port, 4294967295u);
    CHECK_EQ(used, 20); /* stops right after the newline */
    CHECK_EQ(parse_whole("CONNECT 0\n", &port, &used), CONNECT_LINE_DONE);
}

TEST(one_byte_at_a_time)
{
    const char *s = "CONNECT 1234\nxyz";
    struct connect_line p;
    connect_line_init(&p);
    size_t total = 0;
    for (size_t i = 0; i < strlen(s) && p.status == CONNECT_LINE_MORE; i++)
        total += connect_line_feed(&p, (const uint8_t *)s + i, 1);
    CHECK_EQ(p.status, CONNECT_LINE_DONE);
    CHECK_EQ(p.port, 1234);
    CHECK_EQ(total, 13);
    /* Once finished it takes nothing more. */
    CHECK_EQ(connect_line_feed(&p, (const uint8_t *)"9", 1), 0);
}

TEST(partial_line_needs_more)
{
    uint64_t port;
    size_t used;
    CHECK_EQ(parse_whole("", &port, &used), CONNECT_LINE_MORE);
    CHECK_EQ(parse_whole("CONN", &port, &used), CONNECT_LINE_MORE);
    CHECK_EQ(parse_whole("CONNECT 12", &port, &used), CONNECT_LINE_MORE);
    CHECK_EQ(used, 10);
}

TEST(garbage_rejected)
{
    static const char *const bad[] = {
        "connect 5\n",
        "CONNECT\n",
        "CONNECT \n",
        "CONNECT  5\n",
        "CONNECT -5\n",
        "CONNECT 5 \n",
        "CONNECT 4294967296\n",
        "CONNECT 00000000001\n",
        "CONNECT 5\r\r\n",
        "CONNECT 5\rx",
        "HELLO\n",
        "CONNECT 0x10\n",
        "\n",
    };
    for (unsigned i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        uint64_t port;
        size_t used;
        if (parse_whole(bad[i], &port, &used) != CONNECT_LINE_ERROR) {
            test_fail(__FILE__, __LINE__, "accepted '%s'", bad[i]);
            return;
        }
    }
}

TEST(line_is_bounded)
{
    char s[200];
    memset(s, '0', sizeof(s));
    memcpy(s, "CONNECT ", 8);
    s[sizeof(s) - 1] = 0;
    uint64_t port;
    size_t used;
    CHECK_EQ(parse_whole(s, &port, &used), CONNECT_LINE_ERROR);
    CHECK(used <= CONNECT_LINE_MAX + 1);
}
