/* SPDX-License-Identifier: BSD-2-Clause */
/* An idle guest: tests/e2e/idle.sh measures QEMU's CPU use while it sleeps. */
#include <stdio.h>

#include "miura/miura.h"

int main(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    miura_clock_ns(); /* any clock calibration happens before the window */
    printf("idle start\n");
    thread_sleep_ms(2000);
    printf("idle end\n");
    thread_sleep_ms(1000); /* stays up while the host takes its second sample */
    return 0;
}
