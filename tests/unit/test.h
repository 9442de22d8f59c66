/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * A minimal unit-test harness for host-compiled tests.
 *
 * TEST(name) { ... } registers a case. CHECK(cond) records a failure (with
 * file:line and the expression) and returns from the case; CHECK_EQ compares
 * two integers and prints both values. Each case prints one line:
 *   "ok - <suite>/<case>"  or  "not ok - <suite>/<case>: <why>"
 * tests/run.sh counts those lines; a binary that exits non-zero or prints no
 * "ok" line counts as a failure.
 */
#ifndef MIURA_TEST_H
#define MIURA_TEST_H

#include <stdint.h>
#include <stdio.h>

typedef void (*test_fn)(void);
void test_register(const char *name, test_fn fn);
void test_fail(const char *file, int line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
extern int test_failed;

#define TEST(name)                                                 \
    static void name(void);                                        \
    __attribute__((constructor)) static void register_##name(void) \
    {                                                              \
        test_register(#name, name);                                \
    }                                                              \
    static void name(void)

#define CHECK(cond)                                     \
    do {                                                \
        if (!(cond)) {                                  \
            test_fail(__FILE__, __LINE__, "%s", #cond); \
            return;                                     \
        }                                               \
    } while (0)

#define CHECK_EQ(a, b)                                                                            \
    do {                                                                                          \
        long long check_a_ = (long long)(a), check_b_ = (long long)(b);                           \
        if (check_a_ != check_b_) {                                                               \
            test_fail(__FILE__, __LINE__, "%s == %s (%lld != %lld)", #a, #b, check_a_, check_b_); \
            return;                                                                               \
        }                                                                                         \
    } while (0)

#define CHECK_STR(a, b)                                                                    \
    do {                                                                                   \
        const char *check_a_ = (a), *check_b_ = (b);                                       \
        if (strcmp(check_a_, check_b_) != 0) {                                             \
            test_fail(__FILE__, __LINE__, "%s == %s (\"%s\" != \"%s\")", #a, #b, check_a_, \
                      check_b_);                                                           \
            return;                                                                        \
        }                                                                                  \
    } while (0)

/* A TCP socket listening on 127.0.0.1 at a port below 32768, where the
 * ephemeral range starts (so no client socket of another program holds it):
 * picked at random, and again while taken (several test runs may share the
 * machine). Returns the socket, its port in *port; -1 on another error. */
int test_listen_loopback(int backlog, uint16_t *port);

#endif
