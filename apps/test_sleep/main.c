/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * A guest that stays up: prints "sleep: up", then sleeps for sleep=SECONDS
 * from the command line (default: one hour) and exits with status=N (default
 * 0); it first prints each command line word as "arg: WORD", so a test sees
 * what reached the guest. tests/e2e/launcher.sh uses it for detached
 * instances and supervision.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "miura/miura.h"
#include "miura/thread.h"

int main(int argc, char **argv)
{
    unsigned long seconds = 3600;
    int status = 0;
    for (int i = 1; i < argc; i++) {
        printf("arg: %s\n", argv[i]);
        if (strncmp(argv[i], "sleep=", 6) == 0)
            seconds = strtoul(argv[i] + 6, NULL, 10);
        else if (strncmp(argv[i], "status=", 7) == 0)
            status = atoi(argv[i] + 7);
    }
    printf("sleep: up for %lu s\n", seconds);
    while (seconds > 0) {
        unsigned long step = seconds > 60 ? 60 : seconds;
        thread_sleep_ms(step * 1000);
        seconds -= step;
    }
    printf("sleep: done, status %d\n", status);
    return status;
}
