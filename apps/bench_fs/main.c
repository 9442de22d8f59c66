/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * bench/fs's guest side. Times, with the guest's monotonic clock:
 *   seq:   reading /big64.bin (64 MiB) sequentially in 1 MiB reads, 5 times;
 *   small: open + read 1 KiB + close of /small1k.bin, 11 batches of 100.
 * Prints one line per measurement; bench/fs/run.sh takes the medians.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "miura/miura.h"

#define MIB (1024 * 1024)

int main(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    char *buf = malloc(MIB);
    if (!buf)
        return 1;
    for (int run = 0; run < 5; run++) {
        int fd = open("/big64.bin", O_RDONLY);
        if (fd < 0)
            return 2;
        uint64_t t0 = miura_clock_ns(), total = 0;
        ssize_t n;
        while ((n = read(fd, buf, MIB)) > 0)
            total += (uint64_t)n;
        uint64_t ns = miura_clock_ns() - t0;
        close(fd);
        printf("seq %llu bytes %llu ns\n", (unsigned long long)total, (unsigned long long)ns);
    }
    for (int batch = 0; batch < 11; batch++) {
        uint64_t t0 = miura_clock_ns();
        for (int i = 0; i < 100; i++) {
            int fd = open("/small1k.bin", O_RDONLY);
            if (fd < 0 || read(fd, buf, 1024) != 1024)
                return 3;
            close(fd);
        }
        printf("small 100 ops %llu ns\n", (unsigned long long)(miura_clock_ns() - t0));
    }
    return 0;
}
