/* SPDX-License-Identifier: BSD-2-Clause */
/* The POSIX-shaped file API over the VFS and FUSE client, against the fake server. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "fs/posix.h"
#include "fs/vfs.h"
#include "fs_harness.h"
#include "test.h"

#define CHECK_CLEAN(fs)                                           \
    do {                                                          \
        const char *why_ = harness_unmount(fs);                   \
        if (why_) {                                               \
            test_fail(__FILE__, __LINE__, "not clean: %s", why_); \
            return;                                               \
        }                                                         \
    } while (0)

/* -1 with this errno */
#define CHECK_ERR(expr, e)                                                                      \
    do {                                                                                        \
        errno = 0;                                                                              \
        long r_ = (long)(expr);                                                                 \
        int e_ = errno;                                                                         \
        if (r_ != -1 || e_ != (e)) {                                                            \
            test_fail(__FILE__, __LINE__, "%s: got %ld errno %d (%s), want -1 errno %d", #expr, \
                      r_, e_, strerror(e_), (e));                                               \
            return;                                                                             \
        }                                                                                       \
    } while (0)

static void pattern(uint8_t *p, size_t n, unsigned seed)
{
    for (size_t i = 0; i < n; i++)
        p[i] = (uint8_t)((i * 31 + seed) ^ (i >> 8));
}

TEST(open_write_read_seek_close)
{
    struct fake_fs *fs = harness_mount();
    char buf[64];
    int fd;

    CHECK(fs);
    fd = miura_open("/hello.txt", O_CREAT | O_RDWR, 0644);
    CHECK_EQ(fd, 3);
    CHECK_EQ(miura_write(fd, "hello world", 11), 11);
    CHECK_EQ(miura_lseek(fd, 0, SEEK_CUR), 11);
    CHECK_EQ(miura_lseek(fd, 0, SEEK_SET), 0);
    memset(buf, 0, sizeof(buf));
    CHECK_EQ(miura_read(fd, buf, sizeof(buf)), 11);
    CHECK_STR(buf, "hello world");
    CHECK_EQ(miura_read(fd, buf, sizeof(buf)), 0); /* end of file */
    CHECK_EQ(miura_pwrite(fd, "W", 1, 6), 1);
    CHECK_EQ(miura_lseek(fd, 0, SEEK_CUR), 11); /* pwrite leaves the position */
    memset(buf, 0, sizeof(buf));
    CHECK_EQ(miura_pread(fd, buf, 5, 6), 5);
    CHECK_STR(buf, "World");
    CHECK_EQ(miura_lseek(fd, -5, SEEK_END), 6);
    CHECK_EQ(miura_read(fd, buf, 5), 5);
    CHECK(memcmp(buf, "World", 5) == 0);
    CHECK_ERR(miura_lseek(fd, -100, SEEK_CUR), EINVAL);
    CHECK_ERR(miura_lseek(fd, 0, 7), EINVAL);
    CHECK_ERR(miura_pread(fd, buf, 1, -1), EINVAL);
    CHECK_EQ(miura_lseek(fd, 20, SEEK_SET), 20); /* past the end: a hole on write */
    CHECK_EQ(miura_write(fd, "!", 1), 1);
    CHECK_EQ(miura_fsync(fd), 0);
    CHECK_EQ(miura_close(fd), 0);
    {
        struct fake_node *n = fake_node(fs, fake_find(fs, "/hello.txt"));

        CHECK(n);
        CHECK_EQ(n->size, 21);
        CHECK(memcmp(n->data, "hello World\0\0\0\0\0\0\0\0\0!", 21) == 0);
    }
    CHECK_EQ(fs->ops[FUSE_FLUSH], 1);
    CHECK_EQ(fs->ops[FUSE_RELEASE], 1);
    CHECK_CLEAN(fs);
}

TEST(large_read_is_split_at_max_read)
{
    struct fake_fs *fs = harness_fake();
    enum { SIZE = 50000 };
    static uint8_t data[SIZE], got[SIZE + 100];
    int fd;

    fs->max_pages = 2; /* max_read = 8192 */
    pattern(data, SIZE, 7);
    fake_file(fs, "/big", 0644, data, SIZE);
    CHECK_EQ(vfs_mount("/", &fs->conn), 0);
    CHECK_EQ(fs->conn.params.max_read, 8192);
    fd = miura_open("/big", O_RDONLY);
    CHECK(fd >= 3);
    CHECK_EQ(miura_read(fd, got, sizeof(got)), SIZE);
    CHECK(memcmp(got, data, SIZE) == 0);
    /* 50100 asked: six full 8192 chunks, then 992 of which 848 exist (short: stop). */
    CHECK_EQ(fs->n_reads, 7);
    for (unsigned i = 0; i < 6; i++)
        CHECK_EQ(fs->read_sizes[i], 8192);
    CHECK_EQ(fs->read_sizes[6], SIZE + 100 - 6 * 8192);
    CHECK_EQ(miura_read(fd, got, 10), 0);
    /* pread in the middle, crossing chunk boundaries */
    fs->n_reads = 0;
    CHECK_EQ(miura_pread(fd, got, 20000, 1000), 20000);
    CHECK(memcmp(got, data + 1000, 20000) == 0);
    CHECK_EQ(fs->n_reads, 3);
    CHECK_EQ(fs->read_sizes[2], 20000 - 2 * 8192);
    CHECK_EQ(miura_close(fd), 0);
    CHECK_CLEAN(fs);
}

TEST(short_reads_and_writes)
{
    struct fake_fs *fs = harness_fake();
    static uint8_t data[20000], got[20000];
    int fd;

    fs->read_cap = 1000;
    pattern(data, sizeof(data), 3);
    fake_file(fs, "/f", 0644, data, sizeof(data));
    CHECK_EQ(vfs_mount("/", &fs->conn), 0);
    fd = miura_open("/f", O_RDWR);
    CHECK(fd >= 3);
    /* The server answers a 5000-byte READ with 1000: read returns those. */
    CHECK_EQ(miura_read(fd, got, 5000), 1000);
    CHECK_EQ(fs->n_reads, 1);
    CHECK(memcmp(got, data, 1000) == 0);
    CHECK_EQ(miura_read(fd, got, 5000), 1000); /* continues where it stopped */
    CHECK(memcmp(got, data + 1000, 1000) == 0);
    /* A write the server takes only partly returns what it took. */
    fs->write_cap = 100;
    CHECK_EQ(miura_pwrite(fd, "x", 0, 0), 0);
    CHECK_EQ(miura_pwrite(fd, got, 5000, 0), 100);
    CHECK_EQ(fs->n_writes, 1);
    CHECK_EQ(miura_close(fd), 0);
    CHECK_CLEAN(fs);
}

TEST(large_write_is_split_at_max_write)
{
    struct fake_fs *fs = harness_fake();
    static uint8_t data[10000];
    int fd;

    fs->max_write = 4096;
    pattern(data, sizeof(data), 11);
    CHECK_EQ(vfs_mount("/", &fs->conn), 0);
    fd = miura_open("/w", O_CREAT | O_WRONLY | O_TRUNC, 0600);
    CHECK(fd >= 3);
    CHECK_EQ(miura_write(fd, data, sizeof(data)), (long)sizeof(data));
    CHECK_EQ(fs->n_writes, 3);
    CHECK_EQ(fs->write_sizes[0], 4096);
    CHECK_EQ(fs->write_sizes[1], 4096);
    CHECK_EQ(fs->write_sizes[2], 10000 - 8192);
    CHECK_ERR(miura_read(fd, data, 1), EBADF); /* write-only */
    CHECK_EQ(miura_close(fd), 0);
    {
        struct fake_node *n = fake_node(fs, fake_find(fs, "/w"));

        CHECK_EQ(n->size, sizeof(data));
        CHECK(memcmp(n->data, data, sizeof(data)) == 0);
        CHECK_EQ(n->mode, S_IFREG | 0600);
    }
    CHECK_CLEAN(fs);
}

TEST(create_excl_trunc_append)
{
    struct fake_fs *fs = harness_mount();
    struct stat st;
    int fd;

    CHECK(fs);
    fake_file(fs, "/log", 0644, "xyz", 3);
    CHECK_ERR(miura_open("/log", O_CREAT | O_EXCL | O_WRONLY, 0644), EEXIST);
    CHECK_EQ(fs->ops[FUSE_CREATE], 1); /* the server said EEXIST */
    fd = miura_open("/new", O_CREAT | O_EXCL | O_WRONLY, 0644);
    CHECK(fd >= 3);
    CHECK_EQ(fs->ops[FUSE_CREATE], 2);
    CHECK_EQ(fs->last_open_flags & (O_CREAT | O_EXCL | O_ACCMODE), O_CREAT | O_EXCL | O_WRONLY);
    CHECK_EQ(miura_close(fd), 0);
    CHECK_ERR(miura_open("/new", O_CREAT | O_EXCL | O_WRONLY, 0644), EEXIST);

    /* O_APPEND: every write goes to the end the server reports */
    fd = miura_open("/log", O_WRONLY | O_APPEND);
    CHECK(fd >= 3);
    CHECK_EQ(miura_write(fd, "abc", 3), 3);
    CHECK_EQ(miura_lseek(fd, 0, SEEK_SET), 0);
    CHECK_EQ(miura_write(fd, "def", 3), 3);
    CHECK_EQ(miura_lseek(fd, 0, SEEK_CUR), 9);
    fake_file(fs, "/log", 0644, "0123456789ABCDEF", 16); /* the host rewrites it */
    CHECK_EQ(miura_write(fd, "!", 1), 1);
    CHECK_EQ(miura_close(fd), 0);
    {
        struct fake_node *n = fake_node(fs, fake_find(fs, "/log"));

        CHECK_EQ(n->size, 17);
        CHECK(memcmp(n->data, "0123456789ABCDEF!", 17) == 0);
    }

    /* O_TRUNC (the server does it atomically: FUSE_ATOMIC_O_TRUNC granted) */
    CHECK_EQ(miura_stat("/log", &st), 0);
    CHECK_EQ(st.st_size, 17);
    fd = miura_open("/log", O_WRONLY | O_TRUNC);
    CHECK(fd >= 3);
    CHECK(fs->last_open_flags & O_TRUNC);
    CHECK_EQ(fs->ops[FUSE_SETATTR], 0);
    CHECK_EQ(miura_fstat(fd, &st), 0);
    CHECK_EQ(st.st_size, 0);
    CHECK_EQ(miura_close(fd), 0);
    CHECK_EQ(miura_stat("/log", &st), 0);
    CHECK_EQ(st.st_size, 0);
    /* O_CREAT without O_EXCL opens an existing file */
    fd = miura_open("/new", O_CREAT | O_RDWR, 0644);
    CHECK(fd >= 3);
    CHECK_EQ(fs->ops[FUSE_CREATE], 3); /* the cached name: an OPEN, no CREATE */
    /* a name the cache still holds but the host removed: O_EXCL creates it */
    CHECK_EQ(miura_close(fd), 0);
    fake_node(fs, fake_find(fs, "/new"))->unlinked = true;
    fd = miura_open("/new", O_CREAT | O_EXCL | O_RDWR, 0644);
    CHECK(fd >= 3);
    CHECK(fake_find(fs, "/new") != 0);
    CHECK_EQ(miura_close(fd), 0);
    CHECK_CLEAN(fs);
}

TEST(o_trunc_without_atomic_o_trunc_uses_setattr)
{
    struct fake_fs *fs = harness_fake();
    struct stat st;
    int fd;

    fs->grant_flags &= ~FUSE_ATOMIC_O_TRUNC;
    fake_file(fs, "/t", 0644, "content", 7);
    CHECK_EQ(vfs_mount("/", &fs->conn), 0);
    fd = miura_open("/t", O_RDWR | O_TRUNC);
    CHECK(fd >= 3);
    CHECK_EQ(fs->last_open_flags & O_TRUNC, 0);
    CHECK_EQ(fs->ops[FUSE_SETATTR], 1);
    CHECK_EQ(miura_fstat(fd, &st), 0);
    CHECK_EQ(st.st_size, 0);
    CHECK_EQ(fake_node(fs, fake_find(fs, "/t"))->size, 0);
    CHECK_EQ(miura_close(fd), 0);
    CHECK_CLEAN(fs);
}

TEST(ftruncate_and_statvfs)
{
    struct fake_fs *fs = harness_mount();
    struct statvfs sv;
    struct stat st;
    int fd;

    CHECK(fs);
    fake_file(fs, "/t", 0644, "0123456789", 10);
    fd = miura_open("/t", O_RDWR);
    CHECK(fd >= 3);
    CHECK_EQ(miura_ftruncate(fd, 4), 0);
    CHECK_EQ(miura_fstat(fd, &st), 0);
    CHECK_EQ(st.st_size, 4);
    CHECK_EQ(miura_ftruncate(fd, 4096), 0);
    CHECK_EQ(miura_lseek(fd, 0, SEEK_END), 4096);
    CHECK_ERR(miura_ftruncate(fd, -1), EINVAL);
    CHECK_EQ(miura_close(fd), 0);
    fd = miura_open("/t", O_RDONLY);
    CHECK_ERR(miura_ftruncate(fd, 0), EINVAL);
    CHECK_ERR(miura_write(fd, "x", 1), EBADF);
    CHECK_EQ(miura_close(fd), 0);
    CHECK_EQ(miura_statvfs("/t", &sv), 0);
    CHECK_EQ(sv.f_bsize, 4096);
    CHECK_EQ(sv.f_blocks, 1000);
    CHECK_EQ(sv.f_bavail, 500);
    CHECK_EQ(sv.f_namemax, 255);
    CHECK_CLEAN(fs);
}

TEST(mkdir_rmdir_unlink_rename)
{
    struct fake_fs *fs = harness_mount();
    struct stat st;
    int fd;

    CHECK(fs);
    CHECK_EQ(miura_mkdir("/d", 0755), 0);
    CHECK_ERR(miura_mkdir("/d", 0755), EEXIST);
    CHECK_ERR(miura_mkdir("/", 0755), EEXIST);
    CHECK_ERR(miura_mkdir("/nope/x", 0755), ENOENT);
    CHECK_EQ(miura_stat("/d", &st), 0);
    CHECK(S_ISDIR(st.st_mode));
    CHECK_EQ(st.st_mode & 07777, 0755);
    fd = miura_open("/d/f", O_CREAT | O_WRONLY, 0644);
    CHECK(fd >= 3);
    CHECK_EQ(miura_write(fd, "data", 4), 4);
    CHECK_EQ(miura_close(fd), 0);
    CHECK_ERR(miura_rmdir("/d"), ENOTEMPTY);
    CHECK_ERR(miura_rmdir("/d/f"), ENOTDIR);
    CHECK_ERR(miura_unlink("/d"), EISDIR);
    CHECK_ERR(miura_unlink("/d/missing"), ENOENT);

    /* rename into another directory, then over an existing file */
    CHECK_EQ(miura_mkdir("/e", 0700), 0);
    CHECK_EQ(miura_rename("/d/f", "/e/g"), 0);
    CHECK_ERR(miura_stat("/d/f", &st), ENOENT);
    CHECK_EQ(miura_stat("/e/g", &st), 0);
    CHECK_EQ(st.st_size, 4);
    fake_file(fs, "/e/h", 0644, "old!!!", 6);
    CHECK_EQ(miura_stat("/e/h", &st), 0);
    CHECK_EQ(st.st_size, 6);
    CHECK_EQ(miura_rename("/e/g", "/e/h"), 0);
    CHECK_EQ(miura_stat("/e/h", &st), 0);
    CHECK_EQ(st.st_size, 4);
    CHECK_ERR(miura_rename("/e/nothing", "/e/x"), ENOENT);
    CHECK_ERR(miura_rename("/", "/e/x"), EBUSY);

    CHECK_EQ(miura_unlink("/e/h"), 0);
    CHECK_ERR(miura_stat("/e/h", &st), ENOENT);
    CHECK_EQ(miura_rmdir("/e"), 0);
    CHECK_EQ(miura_rmdir("/d"), 0);
    CHECK_ERR(miura_stat("/d", &st), ENOENT);
    CHECK_ERR(miura_rmdir("/"), EBUSY);
    CHECK_CLEAN(fs);
}

TEST(readdir_1000_entries_over_several_replies)
{
    struct fake_fs *fs = harness_mount();
    static bool seen[1000];
    unsigned files = 0, dots = 0;
    struct miura_dir *d;
    struct dirent *e;
    char path[64];
    struct stat st;

    CHECK(fs);
    fake_mkdir(fs, "/many", 0755);
    for (int i = 0; i < 1000; i++) {
        snprintf(path, sizeof(path), "/many/file-%04d", i);
        fake_file(fs, path, 0644, path, (size_t)i % 17);
    }
    memset(seen, 0, sizeof(seen));
    d = miura_opendir("/many");
    CHECK(d);
    while ((e = miura_readdir(d)) != NULL) {
        int i;

        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) {
            CHECK_EQ(e->d_type, DT_DIR);
            dots++;
            continue;
        }
        CHECK(sscanf(e->d_name, "file-%d", &i) == 1);
        CHECK(i >= 0 && i < 1000);
        CHECK(!seen[i]);
        seen[i] = true;
        CHECK_EQ(e->d_type, DT_REG);
        CHECK_EQ(e->d_ino, fake_find(fs, "/many") + 1 + (unsigned)i + 1000);
        files++;
    }
    CHECK_EQ(files, 1000);
    CHECK_EQ(dots, 2);
    CHECK(fs->ops[FUSE_READDIRPLUS] >= 5); /* several replies, then an empty one */
    CHECK(fs->readdir_entries_max < 1000);
    CHECK(vfs_cache_stats().dentries <= vfs_cache_limit());
    /* The listing primed the cache: stat of an entry sends nothing. */
    {
        unsigned lookups = fs->ops[FUSE_LOOKUP], getattrs = fs->ops[FUSE_GETATTR];

        CHECK_EQ(miura_stat("/many/file-0999", &st), 0);
        CHECK_EQ(st.st_size, 999 % 17);
        CHECK_EQ(fs->ops[FUSE_LOOKUP], lookups);
        CHECK_EQ(fs->ops[FUSE_GETATTR], getattrs);
    }
    /* rewind lists again from the start */
    miura_rewinddir(d);
    e = miura_readdir(d);
    CHECK(e);
    CHECK_STR(e->d_name, ".");
    CHECK_EQ(miura_closedir(d), 0);
    CHECK_EQ(fs->ops[FUSE_RELEASEDIR], 1);
    CHECK(miura_opendir("/many/file-0001") == NULL);
    CHECK_EQ(errno, ENOTDIR);
    CHECK(miura_opendir("/none") == NULL);
    CHECK_EQ(errno, ENOENT);
    CHECK_CLEAN(fs);
}

TEST(readdir_without_readdirplus)
{
    struct fake_fs *fs = harness_fake();
    struct miura_dir *d;
    struct dirent *e;
    unsigned n = 0;

    fs->grant_flags &= ~FUSE_DO_READDIRPLUS;
    fake_file(fs, "/a", 0644, "", 0);
    fake_mkdir(fs, "/b", 0755);
    CHECK_EQ(vfs_mount("/", &fs->conn), 0);
    d = miura_opendir("/");
    CHECK(d);
    while ((e = miura_readdir(d)) != NULL) {
        if (!strcmp(e->d_name, "a"))
            CHECK_EQ(e->d_type, DT_REG);
        if (!strcmp(e->d_name, "b"))
            CHECK_EQ(e->d_type, DT_DIR);
        n++;
    }
    CHECK_EQ(n, 4);
    CHECK_EQ(fs->ops[FUSE_READDIRPLUS], 0);
    CHECK(fs->ops[FUSE_READDIR] >= 1);
    CHECK_EQ(miura_closedir(d), 0);
    CHECK_CLEAN(fs);
}

TEST(stat_and_fstat)
{
    struct fake_fs *fs = harness_mount();
    struct stat st, st2;
    uint64_t id;
    int fd;

    CHECK(fs);
    id = fake_file(fs, "/s", 0640, "12345", 5);
    CHECK_EQ(miura_stat("/s", &st), 0);
    CHECK(S_ISREG(st.st_mode));
    CHECK_EQ(st.st_mode & 07777, 0640);
    CHECK_EQ(st.st_ino, id + 1000);
    CHECK_EQ(st.st_size, 5);
    CHECK_EQ(st.st_nlink, 1);
    CHECK_EQ(st.st_uid, 1000);
    CHECK_EQ(st.st_blksize, 4096);
    CHECK_EQ(st.st_blocks, 1);
    CHECK_EQ(st.st_mtim.tv_nsec, 5);
    CHECK_EQ(st.st_mtime, fake_node(fs, id)->mtime);
    CHECK_EQ(st.st_dev, 1);
    fd = miura_open("/s", O_RDONLY);
    CHECK(fd >= 3);
    CHECK_EQ(miura_fstat(fd, &st2), 0);
    CHECK_EQ(st2.st_ino, st.st_ino);
    CHECK_EQ(st2.st_size, 5);
    CHECK_EQ(miura_close(fd), 0);
    CHECK_EQ(miura_stat("/", &st), 0);
    CHECK(S_ISDIR(st.st_mode));
    CHECK_EQ(st.st_ino, 1 + 1000);
    CHECK_ERR(miura_fstat(999, &st), EBADF);
    CHECK_CLEAN(fs);
}

TEST(names_too_long)
{
    struct fake_fs *fs = harness_mount();
    char name[300], path[5000];
    struct stat st;
    unsigned sent;

    CHECK(fs);
    memset(name, 'n', sizeof(name));
    name[0] = '/';
    name[256] = '\0'; /* a 255-byte component: allowed */
    CHECK_ERR(miura_stat(name, &st), ENOENT);
    CHECK_EQ(fs->ops[FUSE_LOOKUP], 1);
    name[256] = 'n';
    name[257] = '\0'; /* 256 bytes */
    sent = fs->ops[FUSE_LOOKUP] + fs->ops[FUSE_CREATE] + fs->ops[FUSE_MKDIR];
    CHECK_ERR(miura_stat(name, &st), ENAMETOOLONG);
    CHECK_ERR(miura_open(name, O_CREAT | O_WRONLY, 0644), ENAMETOOLONG);
    CHECK_ERR(miura_mkdir(name, 0755), ENAMETOOLONG);
    CHECK_ERR(miura_rename("/x", name), ENAMETOOLONG);
    CHECK_EQ(fs->ops[FUSE_LOOKUP] + fs->ops[FUSE_CREATE] + fs->ops[FUSE_MKDIR], sent);
    /* whole paths of VFS_PATH_MAX bytes or more */
    memset(path, 'a', sizeof(path));
    for (size_t i = 0; i < sizeof(path); i += 100)
        path[i] = '/';
    path[4096] = '\0';
    CHECK_ERR(miura_stat(path, &st), ENAMETOOLONG);
    CHECK_ERR(miura_stat("", &st), ENOENT);
    CHECK_CLEAN(fs);
}

TEST(errors_become_errno)
{
    struct fake_fs *fs = harness_mount();
    char buf[8];
    int fd;

    CHECK(fs);
    fake_file(fs, "/ro", 0444, "r", 1);
    fake_file(fs, "/f", 0644, "f", 1);
    fake_mkdir(fs, "/dir", 0755);
    CHECK_ERR(miura_open("/missing", O_RDONLY), ENOENT);
    CHECK_ERR(miura_open("/ro", O_WRONLY), EACCES);
    CHECK_ERR(miura_open("/dir", O_WRONLY), EISDIR);
    CHECK_ERR(miura_open("/dir", O_CREAT | O_WRONLY, 0644), EISDIR);
    CHECK_ERR(miura_open("/f", O_RDONLY | O_DIRECTORY), ENOTDIR);
    CHECK_ERR(miura_open("/f/x", O_RDONLY), ENOTDIR);
    CHECK_ERR(miura_open("/f/", O_RDONLY), ENOTDIR);
    CHECK_ERR(miura_open("/f", O_WRONLY | O_RDWR), EINVAL);
    /* a directory opens read-only; read gives EISDIR, write EBADF */
    fd = miura_open("/dir", O_RDONLY);
    CHECK(fd >= 3);
    CHECK_ERR(miura_read(fd, buf, 1), EISDIR);
    CHECK_ERR(miura_write(fd, buf, 1), EBADF);
    CHECK_EQ(miura_close(fd), 0);
    /* a server error on one request */
    fd = miura_open("/f", O_RDONLY);
    CHECK(fd >= 3);
    fs->fail_opcode = FUSE_READ;
    fs->fail_errno = EIO;
    CHECK_ERR(miura_read(fd, buf, 1), EIO);
    CHECK_EQ(miura_read(fd, buf, 8), 1);
    fs->fail_opcode = FUSE_FLUSH;
    fs->fail_errno = ENOSPC;
    CHECK_ERR(miura_close(fd), ENOSPC); /* reported, and the fd is gone anyway */
    CHECK_ERR(miura_close(fd), EBADF);
    /* a read-only export */
    fs->readonly = true;
    CHECK_ERR(miura_open("/new", O_CREAT | O_WRONLY, 0644), EROFS);
    CHECK_ERR(miura_mkdir("/newdir", 0755), EROFS);
    CHECK_ERR(miura_unlink("/f"), EROFS);
    CHECK_ERR(miura_open("/f", O_WRONLY), EROFS);
    fs->readonly = false;
    CHECK_CLEAN(fs);
}

TEST(fd_exhaustion_gives_emfile)
{
    struct fake_fs *fs = harness_mount();
    static int fds[FD_MAX];
    int n = 0, fd;

    CHECK(fs);
    fake_file(fs, "/f", 0644, "x", 1);
    while ((fd = miura_open("/f", O_RDONLY)) >= 0) {
        CHECK(n < FD_MAX);
        CHECK_EQ(fd, n + 3); /* lowest free first */
        fds[n++] = fd;
    }
    CHECK_EQ(errno, EMFILE);
    CHECK_EQ(n, FD_MAX - 3);
    CHECK_EQ(fs->n_open, (unsigned)n);
    CHECK_EQ(miura_close(fds[100]), 0);
    CHECK_EQ(miura_open("/f", O_RDONLY), fds[100]); /* the freed slot */
    for (int i = 0; i < n; i++)
        CHECK_EQ(miura_close(fds[i]), 0);
    CHECK_EQ(fs->n_open, 0);
    CHECK_CLEAN(fs);
}

TEST(bad_descriptors)
{
    struct fake_fs *fs = harness_mount();
    char buf[4];
    struct stat st;

    CHECK(fs);
    CHECK_ERR(miura_close(-1), EBADF);
    CHECK_ERR(miura_close(1024), EBADF);
    CHECK_ERR(miura_close(FD_MAX), EBADF);
    CHECK_ERR(miura_close(500), EBADF);
    CHECK_ERR(miura_read(77, buf, 1), EBADF);
    CHECK_ERR(miura_write(77, buf, 1), EBADF);
    CHECK_ERR(miura_lseek(77, 0, SEEK_SET), EBADF);
    CHECK_ERR(miura_fstat(-5, &st), EBADF);
    CHECK_ERR(miura_fsync(1 << 30), EBADF);
    CHECK_ERR(miura_readdir(NULL) == NULL ? -1 : 0, EBADF);
    CHECK_CLEAN(fs);
}

TEST(console_descriptors)
{
    struct fake_fs *fs = harness_mount();
    char buf[4];
    struct stat st;

    CHECK(fs);
    CHECK_EQ(miura_write(1, "out ", 4), 4);
    CHECK_EQ(miura_write(2, "err", 3), 3);
    CHECK_EQ(console_len, 7);
    CHECK(memcmp(console_out, "out err", 7) == 0);
    CHECK_EQ(miura_read(0, buf, sizeof(buf)), 0);
    CHECK_ERR(miura_read(1, buf, 1), EBADF);
    CHECK_ERR(miura_write(0, "x", 1), EBADF);
    CHECK_ERR(miura_lseek(1, 0, SEEK_SET), ESPIPE);
    CHECK_EQ(miura_fstat(1, &st), 0);
    CHECK(S_ISCHR(st.st_mode));
    CHECK_EQ(miura_close(2), 0);
    CHECK_EQ(miura_write(2, "!", 1), 1);
    CHECK_CLEAN(fs);
}

/* ---- sendfile: the file's side. A fake out kind stands for a socket: its
 * sendfile op reads the file into its own buffer in 4 KiB pieces. */

static uint8_t sink[64 * 1024];
static size_t sink_len;
static int sink_close_in = -1; /* the op closes this descriptor before reading */
static int sink_close(struct fd_object *o)
{
    (void)o;
    return 0;
}
static const struct fd_kind sink_kind = {sink_close, S_IFSOCK};
static struct fd_object sink_obj = {&sink_kind, O_RDWR};

static int64_t sink_sendfile(struct fd_object *o, struct fd_object *in, fd_read_op *read,
                             int64_t *pos, size_t n)
{
    size_t done = 0;
    (void)o;
    if (sink_close_in >= 0)
        (void)miura_close(sink_close_in); /* another thread closes the file meanwhile */
    while (done < n && sink_len < sizeof(sink)) {
        size_t want = n - done < 4096 ? n - done : 4096;
        int64_t r = read(in, sink + sink_len, want, pos);
        if (r <= 0)
            return done ? (int64_t)done : r;
        sink_len += (size_t)r;
        done += (size_t)r;
        if (pos)
            *pos += r;
        if ((size_t)r < want)
            break;
    }
    return (int64_t)done;
}
FD_OP(sendfile, sink_kind, sink_sendfile);

TEST(sendfile_reads_the_file_for_the_out_kind)
{
    struct fake_fs *fs = harness_fake();
    enum { SIZE = 10000 };
    static uint8_t data[SIZE];
    off_t off;
    int in, out, wr;

    pattern(data, SIZE, 3);
    fake_file(fs, "/f", 0644, data, SIZE);
    CHECK_EQ(vfs_mount("/", &fs->conn), 0);
    in = miura_open("/f", O_RDONLY);
    out = fd_install(&sink_obj);
    CHECK(in >= 3 && out >= 3);
    /* with an offset: read from there, the offset moves, the position not */
    sink_len = 0;
    off = 1000;
    CHECK_EQ(miura_sendfile(out, in, &off, 5000), 5000);
    CHECK_EQ(off, 6000);
    CHECK_EQ(miura_lseek(in, 0, SEEK_CUR), 0);
    CHECK(sink_len == 5000 && memcmp(sink, data + 1000, 5000) == 0);
    /* without: from the position, which moves; short at the end */
    CHECK_EQ(miura_lseek(in, 9000, SEEK_SET), 9000);
    sink_len = 0;
    CHECK_EQ(miura_sendfile(out, in, NULL, 5000), 1000);
    CHECK_EQ(miura_lseek(in, 0, SEEK_CUR), SIZE);
    CHECK(memcmp(sink, data + 9000, 1000) == 0);
    CHECK_EQ(miura_sendfile(out, in, NULL, 5000), 0);
    /* the arguments */
    off = -1;
    CHECK_ERR(miura_sendfile(out, in, &off, 10), EINVAL);
    off = 0;
    CHECK_ERR(miura_sendfile(out, 99, &off, 10), EBADF);
    CHECK_ERR(miura_sendfile(99, in, &off, 10), EBADF);
    CHECK_ERR(miura_sendfile(out, out, &off, 10), EINVAL); /* in is not a file */
    CHECK_ERR(miura_sendfile(1, in, &off, 10), EINVAL);    /* out has no sendfile op */
    wr = miura_open("/f", O_WRONLY);
    CHECK_ERR(miura_sendfile(out, wr, &off, 10), EBADF); /* not open for reading */
    CHECK_EQ(miura_close(wr), 0);
    sink_obj.flags = O_RDONLY;
    CHECK_ERR(miura_sendfile(out, in, &off, 10), EBADF); /* not open for writing */
    sink_obj.flags = O_RDWR;
    /* the file is held for the call: closed meanwhile, it is read to the end
     * and released once, after the call */
    sink_len = 0;
    sink_close_in = in;
    unsigned releases = fs->ops[FUSE_RELEASE];
    CHECK_EQ(miura_sendfile(out, in, &off, SIZE), SIZE);
    sink_close_in = -1;
    CHECK(memcmp(sink, data, SIZE) == 0);
    CHECK_EQ(fs->ops[FUSE_RELEASE], releases + 1);
    CHECK_ERR(miura_sendfile(out, in, &off, 10), EBADF);
    CHECK_EQ(miura_close(out), 0);
    CHECK_CLEAN(fs);
}
