/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Exercises the POSIX-shaped file API on a virtio-fs share and prints what it
 * saw; tests/e2e/fs.sh prepared the share and checks every line (and the
 * share itself afterwards). `test=readonly` runs the read-only share checks,
 * `test=enospc` the full-disk ones (enospc.c, for tests/e2e/faults.sh).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "miura/miura.h"
#include "sha256.h"

#define CHUNK (256 * 1024)

/* Each caller (thread) reads into its own buffer. */
static int sum_file(const char *path, char hex[65], long *size)
{
    struct sha256 s;
    char *buf = malloc(CHUNK);
    if (!buf)
        return -ENOMEM;
    int fd = open(path, O_RDONLY);
    if (fd < 0) {
        int e = errno;
        free(buf);
        return -e;
    }
    sha256_init(&s);
    *size = 0;
    for (;;) {
        ssize_t n = read(fd, buf, CHUNK);
        if (n < 0) {
            int e = errno;
            close(fd);
            free(buf);
            return -e;
        }
        if (n == 0)
            break;
        sha256_update(&s, buf, (size_t)n);
        *size += n;
    }
    close(fd);
    free(buf);
    sha256_hex(&s, hex);
    return 0;
}

static void print_sum(const char *label, const char *path)
{
    char hex[65];
    long size;
    int rc = sum_file(path, hex, &size);
    if (rc < 0)
        printf("%s %s error %d\n", label, path, -rc);
    else
        printf("%s %s %ld %s\n", label, path, size, hex);
}

static void print_errno(const char *label, int rc)
{
    printf("errno %s: %d\n", label, rc < 0 ? errno : 0);
}

static int write_all(int fd, const char *s)
{
    size_t len = strlen(s);
    return write(fd, s, len) == (ssize_t)len ? 0 : -1;
}

static void list_big_dir(void)
{
    static unsigned char seen[1000];
    unsigned entries = 0, expected = 0;
    DIR *d = opendir("/big");
    if (!d) {
        printf("dir big: opendir error %d\n", errno);
        return;
    }
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
            continue;
        entries++;
        if (strlen(e->d_name) == 9 && !strncmp(e->d_name, "f", 1) &&
            !strcmp(e->d_name + 5, ".txt")) {
            int n = atoi(e->d_name + 1);
            if (n >= 0 && n < 1000 && !seen[n]) {
                seen[n] = 1;
                expected++;
            }
        }
    }
    closedir(d);
    printf("dir big: %u entries, %u expected names\n", entries, expected);
}

static void mutate(void)
{
    int fd;
    struct stat st;

    if (mkdir("/new", 0755) < 0)
        printf("mutate: mkdir error %d\n", errno);
    fd = open("/new/a.txt", O_WRONLY | O_CREAT | O_EXCL, 0644);
    if (fd < 0 || write_all(fd, "hello") < 0 || close(fd) < 0)
        printf("mutate: create error %d\n", errno);
    fd = open("/new/a.txt", O_WRONLY | O_APPEND);
    if (fd < 0 || write_all(fd, " world") < 0 || close(fd) < 0)
        printf("mutate: append error %d\n", errno);
    if (stat("/new/a.txt", &st) < 0)
        printf("mutate: stat error %d\n", errno);
    else
        printf("stat a.txt: size %ld regular %d\n", (long)st.st_size, S_ISREG(st.st_mode) ? 1 : 0);

    fd = open("/trunc.txt", O_RDWR | O_CREAT | O_TRUNC, 0644);
    char hundred[100];
    memset(hundred, 'x', sizeof(hundred));
    if (fd < 0 || write(fd, hundred, 100) != 100 || ftruncate(fd, 10) < 0)
        printf("mutate: truncate error %d\n", errno);
    if (fd >= 0 && fstat(fd, &st) == 0)
        printf("fstat trunc.txt: size %ld\n", (long)st.st_size);
    if (fd >= 0) {
        char back[16] = {0};
        lseek(fd, 2, SEEK_SET);
        ssize_t n = read(fd, back, sizeof(back));
        printf("read after lseek: %ld bytes\n", (long)n);
        fsync(fd);
        close(fd);
    }

    fd = open("/trunc_me.txt", O_WRONLY | O_TRUNC);
    if (fd < 0 || write_all(fd, "new") < 0 || close(fd) < 0)
        printf("mutate: O_TRUNC error %d\n", errno);

    fd = open("/ren1.txt", O_WRONLY | O_CREAT, 0644);
    if (fd < 0 || write_all(fd, "R") < 0 || close(fd) < 0 || rename("/ren1.txt", "/ren2.txt") < 0)
        printf("mutate: rename error %d\n", errno);

    if (mkdir("/gone_dir", 0755) < 0 || rmdir("/gone_dir") < 0)
        printf("mutate: rmdir error %d\n", errno);
    fd = open("/gone.txt", O_WRONLY | O_CREAT, 0644);
    if (fd < 0 || close(fd) < 0 || unlink("/gone.txt") < 0)
        printf("mutate: unlink error %d\n", errno);

    fd = open("/sparse.txt", O_RDWR | O_CREAT, 0644);
    if (fd < 0 || pwrite(fd, "X", 1, 100) != 1)
        printf("mutate: pwrite error %d\n", errno);
    char c = 0;
    if (fd >= 0 && (pread(fd, &c, 1, 100) != 1 || c != 'X'))
        printf("mutate: pread error %d\n", errno);
    if (fd >= 0)
        close(fd);
    printf("mutate: done\n");
}

static void errnos(void)
{
    char longname[300];
    memset(longname, 'n', sizeof(longname));
    longname[0] = '/';
    longname[sizeof(longname) - 1] = 0;
    print_errno("missing", open("/no/such/file", O_RDONLY));
    print_errno("longname", open(longname, O_RDONLY));
    print_errno("isdir", open("/big", O_WRONLY));
    print_errno("notdir", open("/small/one.bin/x", O_RDONLY));
    print_errno("exists", open("/small/one.bin", O_WRONLY | O_CREAT | O_EXCL, 0644));
    print_errno("rmdir-notempty", rmdir("/big"));
    print_errno("badfd", close(999));
    struct stat st;
    print_errno("stat-missing", stat("/nothing-here", &st));
    /* ".." never leaves the share: /../../small/one.bin is /small/one.bin. */
    print_sum("dotdot", "/../../small/./../small/one.bin");
}

struct reader {
    char path[32];
    char hex[65];
    long size;
    int rc;
};

static void *reader_thread(void *arg)
{
    struct reader *r = arg;
    r->rc = sum_file(r->path, r->hex, &r->size);
    return NULL;
}

static void parallel_reads(void)
{
    struct reader r[8];
    thread_t *t[8];
    for (int i = 0; i < 8; i++) {
        snprintf(r[i].path, sizeof(r[i].path), "/par/p%d.bin", i);
        t[i] = thread_create(THREAD_CPU_CURRENT, 0, reader_thread, &r[i]);
    }
    for (int i = 0; i < 8; i++)
        thread_join(t[i], NULL);
    for (int i = 0; i < 8; i++) {
        if (r[i].rc < 0)
            printf("par %s error %d\n", r[i].path, -r[i].rc);
        else
            printf("par %s %ld %s\n", r[i].path, r[i].size, r[i].hex);
    }
}

static int read_small(const char *path, char *buf, size_t cap)
{
    int fd = open(path, O_RDONLY);
    if (fd < 0)
        return -1;
    ssize_t n = read(fd, buf, cap - 1);
    close(fd);
    buf[n > 0 ? n : 0] = 0;
    return (int)n;
}

static void host_change(void)
{
    char buf[64];
    read_small("/changing.txt", buf, sizeof(buf));
    printf("change: first read '%s'\n", buf);
    printf("change: now\n"); /* the host rewrites the file when it sees this */
    uint64_t t0 = miura_clock_ns();
    /* Until seen: the bound only ends a test whose host never rewrote it. */
    while (miura_clock_ns() - t0 < 100000000000ull) {
        read_small("/changing.txt", buf, sizeof(buf));
        if (!strcmp(buf, "version two"))
            break;
        thread_sleep_ms(50);
    }
    printf("change: read '%s' after %llu ms\n", buf,
           (unsigned long long)((miura_clock_ns() - t0) / 1000000));
}

static void readonly_checks(void)
{
    print_errno("rofs-create", open("/new.txt", O_WRONLY | O_CREAT, 0644));
    print_errno("rofs-write", open("/small/one.bin", O_WRONLY));
    print_errno("rofs-mkdir", mkdir("/newdir", 0755));
    print_errno("rofs-unlink", unlink("/small/one.bin"));
    print_sum("sum", "/small/one.bin");
}

/* A request the host holds up (it stops virtiofsd): the thread must sleep,
 * not spin, until the reply comes. */
static void slow_request(void)
{
    char hex[65];
    long size;
    printf("slow: armed\n");
    thread_sleep_ms(2000); /* the host stops virtiofsd meanwhile */
    printf("slow: requesting\n");
    int rc = sum_file("/small/p4096.bin", hex, &size);
    printf("slow: done rc=%d size %ld\n", rc, size);
}

void enospc_test(void); /* enospc.c */

int main(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    const char *test = miura_getarg("test");
    if (test && !strcmp(test, "enospc")) {
        enospc_test();
        printf("test_fs: done\n");
        return 0;
    }
    if (test && !strcmp(test, "slow")) {
        slow_request();
        return 0;
    }
    if (test && !strcmp(test, "readonly")) {
        readonly_checks();
        printf("test_fs: done\n");
        return 0;
    }
    static const char *const files[] = {"/small/empty.bin", "/small/one.bin",   "/small/p4095.bin",
                                        "/small/p4096.bin", "/small/p4097.bin", "/mid/m1.bin",
                                        "/big16.bin"};
    for (unsigned i = 0; i < sizeof(files) / sizeof(files[0]); i++)
        print_sum("sum", files[i]);
    list_big_dir();
    mutate();
    errnos();
    parallel_reads();
    host_change();
    printf("test_fs: done\n");
    return 0;
}
