/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * http_first ADDR PORT START_NS [TIMEOUT_S]: asks ADDR:PORT for an HTTP
 * answer (the launcher's readiness probe: HEAD /, a reply starting "HTTP/")
 * every millisecond until one comes, then prints the milliseconds since
 * START_NS (CLOCK_REALTIME nanoseconds, e.g. `date +%s%N` taken when the
 * server's start command was run). Exit 0, or 1 after TIMEOUT_S (default 60)
 * with "timeout". For bench/oci: a client cheap enough not to be what is
 * measured.
 */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "launcher/probe.h"

static long long now_ns(clockid_t c)
{
    struct timespec ts;
    clock_gettime(c, &ts);
    return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

int main(int argc, char **argv)
{
    if (argc < 4 || argc > 5) {
        fprintf(stderr, "usage: http_first ADDR PORT START_NS [TIMEOUT_S]\n");
        return 2;
    }
    long long start = atoll(argv[3]);
    long long deadline = now_ns(CLOCK_MONOTONIC) + (argc == 5 ? atoll(argv[4]) : 60) * 1000000000LL;
    struct timespec pause = {.tv_sec = 0, .tv_nsec = 1000000};
    while (now_ns(CLOCK_MONOTONIC) < deadline) {
        if (http_probe(argv[1], (uint16_t)atoi(argv[2]), 1000) == PROBE_READY) {
            printf("%lld\n", (now_ns(CLOCK_REALTIME) - start) / 1000000);
            return 0;
        }
        nanosleep(&pause, NULL);
    }
    printf("timeout\n");
    return 1;
}
