/* SPDX-License-Identifier: BSD-2-Clause */
/* bench/fs's host side for small files: open + read 1 KiB + close, per op. */
#include <fcntl.h>
#include <stdio.h>
#include <time.h>
#include <unistd.h>

int main(int argc, char **argv)
{
    char buf[1024];
    struct timespec a, b;
    if (argc != 2)
        return 2;
    clock_gettime(CLOCK_MONOTONIC, &a);
    for (int i = 0; i < 100; i++) {
        int fd = open(argv[1], O_RDONLY);
        if (fd < 0 || read(fd, buf, sizeof(buf)) != (ssize_t)sizeof(buf))
            return 1;
        close(fd);
    }
    clock_gettime(CLOCK_MONOTONIC, &b);
    printf("%.2f\n", ((b.tv_sec - a.tv_sec) * 1e9 + (b.tv_nsec - a.tv_nsec)) / 100 / 1000);
    return 0;
}
