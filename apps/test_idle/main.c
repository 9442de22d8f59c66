/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * An idle guest: prints "idle start", sleeps idle=SECONDS (default 2),
 * prints "idle end", stays up one more second and exits 0.
 * tests/e2e/idle.sh measures QEMU's CPU use while it sleeps.
 */
#include <stdio.h>
#include <stdlib.h>

#include "miura/miura.h"

int main(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    const char *arg = miura_getarg("idle");
    unsigned long seconds = arg ? strtoul(arg, NULL, 10) : 2;
    miura_clock_ns(); /* any clock calibration happens before the window */
    printf("idle start\n");
    thread_sleep_ms(seconds * 1000);
    printf("idle end\n");
    thread_sleep_ms(1000); /* stays up while the host takes its second sample */
    return 0;
}
