/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * test=enospc: the host's disk fills up under a writing appliance
 * (tests/e2e/faults.sh shares a small tmpfs). The appliance writes a file,
 * then a second one until a write fails, and says how far it got and with
 * which errno; both files must read back whole. It waits for the host's go
 * (the file /go appears: the host has checked both meanwhile), deletes the
 * filler and shows that writing works again.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "miura/miura.h"

#define CHUNK    (64 * 1024)
#define KEEP_LEN (64 * 1024)
#define FILL_MAX (64L * 1024 * 1024) /* the share is much smaller: ENOSPC comes first */

/* The byte at offset o of every file written here (the host computes it too). */
static unsigned char pattern(long o)
{
    return (unsigned char)(o ^ (o >> 8) ^ (o >> 16));
}

static void fill_chunk(unsigned char *buf, long offset, size_t len)
{
    for (size_t i = 0; i < len; i++)
        buf[i] = pattern(offset + (long)i);
}

/* Writes from offset `from` until `max` or an error; returns the bytes written, *err the errno. */
static long write_pattern(int fd, long max, unsigned char *buf, int *err)
{
    long done = 0;
    *err = 0;
    while (done < max) {
        size_t want = max - done < CHUNK ? (size_t)(max - done) : CHUNK;
        fill_chunk(buf, done, want);
        ssize_t n = write(fd, buf, want);
        if (n < 0) {
            *err = errno;
            break;
        }
        done += n;
    }
    return done;
}

/* Reads path back; returns its length if every byte is the pattern, else -1. */
static long check_pattern(const char *path, unsigned char *buf)
{
    int fd = open(path, O_RDONLY);
    long off = 0;
    if (fd < 0)
        return -1;
    for (;;) {
        ssize_t n = read(fd, buf, CHUNK);
        if (n < 0) {
            off = -1;
            break;
        }
        if (n == 0)
            break;
        for (ssize_t i = 0; i < n; i++)
            if (buf[i] != pattern(off + i)) {
                close(fd);
                return -1;
            }
        off += n;
    }
    close(fd);
    return off;
}

void enospc_test(void)
{
    unsigned char *buf = malloc(CHUNK);
    struct stat st;
    int err;
    if (!buf) {
        printf("enospc: no memory\n");
        return;
    }
    int fd = open("/keep.bin", O_WRONLY | O_CREAT | O_TRUNC, 0644);
    long keep = fd < 0 ? -1 : write_pattern(fd, KEEP_LEN, buf, &err);
    if (fd >= 0)
        close(fd);
    printf("enospc: keep wrote %ld\n", keep);
    fd = open("/fill.bin", O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0) {
        printf("enospc: open fill error %d\n", errno);
        free(buf);
        return;
    }
    long filled = write_pattern(fd, FILL_MAX, buf, &err);
    int close_rc = close(fd);
    printf("enospc: fill wrote %ld then errno %d, close %d\n", filled, err, close_rc);
    printf("enospc: readback keep %ld fill %ld\n", check_pattern("/keep.bin", buf),
           check_pattern("/fill.bin", buf));
    printf("enospc: waiting for /go\n");
    uint64_t t0 = miura_clock_ns();
    while (stat("/go", &st) < 0 && miura_clock_ns() - t0 < 60000000000ull)
        thread_sleep_ms(50);
    printf("enospc: go %s\n", stat("/go", &st) == 0 ? "seen" : "never came");
    printf("enospc: unlink fill %d\n", unlink("/fill.bin"));
    fd = open("/after.bin", O_WRONLY | O_CREAT | O_TRUNC, 0644);
    long after = fd < 0 ? -1 : write_pattern(fd, CHUNK, buf, &err);
    if (fd >= 0)
        close(fd);
    printf("enospc: after wrote %ld errno %d\n", after, fd < 0 ? errno : err);
    free(buf);
}
