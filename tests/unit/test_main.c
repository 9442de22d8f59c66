/* SPDX-License-Identifier: BSD-2-Clause */
#include "test.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAX_TESTS 512

static struct {
    const char *name;
    test_fn fn;
} tests[MAX_TESTS];
static int test_count;
static const char *current;
int test_failed;

void test_register(const char *name, test_fn fn)
{
    if (test_count == MAX_TESTS) {
        fprintf(stderr, "too many tests\n");
        exit(2);
    }
    tests[test_count].name = name;
    tests[test_count].fn = fn;
    test_count++;
}

void test_fail(const char *file, int line, const char *fmt, ...)
{
    va_list ap;
    if (test_failed)
        return;
    test_failed = 1;
    printf("not ok - %s: %s:%d: ", current, file, line);
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    printf("\n");
}

int test_listen_loopback(int backlog, uint16_t *port)
{
    static unsigned seed;
    if (!seed)
        seed = (unsigned)time(NULL) ^ ((unsigned)getpid() << 16);
    for (int tries = 0; tries < 1000; tries++) {
        uint16_t p = (uint16_t)(10000 + rand_r(&seed) % (32768 - 10000));
        struct sockaddr_in a = {
            .sin_family = AF_INET, .sin_port = htons(p), .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
        int fd = socket(AF_INET, SOCK_STREAM, 0);
        if (fd < 0)
            return -1;
        if (bind(fd, (struct sockaddr *)&a, sizeof(a)) == 0 && listen(fd, backlog) == 0) {
            *port = p;
            return fd;
        }
        int e = errno;
        close(fd);
        if (e != EADDRINUSE)
            return -1;
    }
    return -1;
}

int main(int argc, char **argv)
{
    const char *suite = strrchr(argv[0], '/') ? strrchr(argv[0], '/') + 1 : argv[0];
    int failures = 0;
    char name[256];

    setvbuf(stdout, NULL, _IOLBF, 0);
    for (int i = 0; i < test_count; i++) {
        if (argc > 1 && strcmp(argv[1], tests[i].name) != 0)
            continue;
        snprintf(name, sizeof(name), "%s/%s", suite, tests[i].name);
        current = name;
        test_failed = 0;
        tests[i].fn();
        if (test_failed)
            failures++;
        else
            printf("ok - %s\n", name);
    }
    return failures ? 1 : 0;
}
