/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * What the seccomp filter of a confined daemon costs per system call
 * (bench/confine/run.sh): the time of a cheap allowed call (read on an empty
 * non-blocking eventfd: EAGAIN), ROUNDS times N calls before confining and
 * ROUNDS times after confine_self with miura-vsockd's rules, interleaved
 * with nothing else. Prints "unconfined_ns confined_ns" per round.
 * Usage: syscall_cost DIR   (DIR: a directory to keep in view, e.g. a tmpdir)
 */
#include <stdint.h>
#include <stdio.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "common/confine.h"

#define ROUNDS 5
#define N      1000000

/* miura-vsockd's own rules (host/vsockd/main.c), on top of the base. */
static const struct confine_rule vsockd_rules[] = {
    CONFINE_ALLOW(recvmsg),
    CONFINE_ALLOW(timerfd_settime),
};

static double ns_per_call(int fd)
{
    struct timespec a, b;
    uint64_t v;
    clock_gettime(CLOCK_MONOTONIC, &a);
    for (int i = 0; i < N; i++)
        if (read(fd, &v, sizeof(v)) != -1)
            return -1;
    clock_gettime(CLOCK_MONOTONIC, &b);
    return ((double)(b.tv_sec - a.tv_sec) * 1e9 + (double)(b.tv_nsec - a.tv_nsec)) / N;
}

int main(int argc, char **argv)
{
    double before[ROUNDS], after[ROUNDS];
    char path[4096], err[512];
    int fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (argc != 2 || fd < 0) {
        fprintf(stderr, "usage: syscall_cost DIR\n");
        return 2;
    }
    for (int r = 0; r < ROUNDS; r++)
        before[r] = ns_per_call(fd);
    snprintf(path, sizeof(path), "%s/none.sock", argv[1]);
    const char *paths[] = {path};
    struct confine_spec s = {.paths = paths, .npaths = 1, .rules = vsockd_rules, .nrules = 2};
    if (confine_self(&s, err, sizeof(err)) < 0) {
        fprintf(stderr, "syscall_cost: confining: %s\n", err);
        return 1;
    }
    for (int r = 0; r < ROUNDS; r++)
        after[r] = ns_per_call(fd);
    for (int r = 0; r < ROUNDS; r++)
        printf("%.1f %.1f\n", before[r], after[r]);
    return 0;
}
