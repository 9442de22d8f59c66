/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * VFS behaviour against the fake server: path resolution inside the mount,
 * cache timeouts, FORGET accounting, bounded caches, mounts, and files
 * closed by "another thread" while a request is in flight.
 */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fs/fuse_client.h"
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

#define SEC 1000000000ull

static uint64_t ino_of(const char *path)
{
    struct stat st;

    return miura_stat(path, &st) == 0 ? st.st_ino : 0;
}

/* ------------------------------------------------------------------ paths */

TEST(dot_and_dotdot_never_leave_the_root)
{
    struct fake_fs *fs = harness_mount();
    uint64_t f, root;
    int fd;

    CHECK(fs);
    fake_mkdir(fs, "/a", 0755);
    fake_mkdir(fs, "/a/b", 0755);
    f = fake_file(fs, "/a/b/f", 0644, "F", 1) + 1000;
    root = 1 + 1000;
    CHECK_EQ(ino_of("/a/b/f"), f);
    CHECK_EQ(ino_of("/a/./b/../b/./f"), f);
    CHECK_EQ(ino_of("//a//b///f"), f);
    CHECK_EQ(ino_of("a/b/f"), f); /* relative: from "/" */
    CHECK_EQ(ino_of("/.."), root);
    CHECK_EQ(ino_of("/../../.."), root);
    CHECK_EQ(ino_of(".."), root);
    CHECK_EQ(ino_of("/a/../../../a/b/../../.."), root);
    CHECK_EQ(ino_of("/../a/b/f"), f);
    CHECK_EQ(ino_of("/a/b/.."), fake_find(fs, "/a") + 1000);
    fd = miura_open("/a/b/../../..", O_RDONLY | O_DIRECTORY);
    CHECK(fd >= 3);
    CHECK_EQ(miura_close(fd), 0);
    CHECK_ERR(miura_open("/a/b/f/.", O_RDONLY), ENOTDIR);
    CHECK_EQ(fs->dot_lookups, 0);
    CHECK_CLEAN(fs);
}

TEST(symbolic_links_are_not_followed)
{
    struct fake_fs *fs = harness_mount();
    struct stat st;
    uint64_t link;

    CHECK(fs);
    fake_mkdir(fs, "/dir", 0755);
    link = fake_file(fs, "/link", 0777, "dir", 3);
    fake_node(fs, link)->mode = S_IFLNK | 0777;
    CHECK_EQ(miura_stat("/link", &st), 0); /* the link itself */
    CHECK(S_ISLNK(st.st_mode));
    CHECK_ERR(miura_open("/link", O_RDONLY), ELOOP);
    CHECK_ERR(miura_stat("/link/x", &st), ELOOP);
    CHECK_ERR(miura_stat("/link/", &st), ELOOP);
    CHECK_ERR(miura_open("/link/new", O_CREAT | O_WRONLY, 0644), ELOOP);
    CHECK_CLEAN(fs);
}

TEST(dotdot_at_a_submount_root_goes_to_its_mount_point_parent)
{
    struct fake_fs *fs = harness_mount();
    struct fake_fs *sub = fake_new();
    uint64_t in_sub;

    CHECK(fs);
    fake_mkdir(fs, "/data", 0755);
    fake_file(fs, "/top", 0644, "t", 1);
    in_sub = fake_file(sub, "/x", 0644, "xx", 2) + 1000;
    CHECK_EQ(vfs_mount("/data", &sub->conn), 0);
    CHECK_EQ(vfs_mount("/data/", &sub->conn), -EBUSY);
    CHECK_EQ(ino_of("/data/x"), in_sub);
    CHECK_EQ(ino_of("/data/../data/./x"), in_sub);
    CHECK_EQ(ino_of("/data/.."), 1 + 1000);
    CHECK_EQ(ino_of("/data/../top"), fake_find(fs, "/top") + 1000);
    CHECK_EQ(ino_of("/data"), 1 + 1000); /* the submount's root */
    CHECK_EQ(sub->dot_lookups, 0);
    CHECK_EQ(fs->ops[FUSE_LOOKUP], 1); /* only "top": nothing under /data went to fs */
    CHECK_EQ(vfs_unmount("/data"), 0);
    CHECK_EQ(fake_unforgotten(sub), 0);
    CHECK_EQ(sub->protocol_errors, 0);
    fake_free(sub);
    CHECK_EQ(vfs_unmount("/data"), -EINVAL);
    CHECK_CLEAN(fs);
}

/* ------------------------------------------------------------------ timeouts */

TEST(entry_timeout_is_honoured)
{
    struct fake_fs *fs = harness_mount();
    struct stat st;

    CHECK(fs);
    fs->ops[FUSE_GETATTR] = 0; /* the mount's own */
    fake_file(fs, "/f", 0644, "abc", 3);
    CHECK_EQ(miura_stat("/f", &st), 0);
    CHECK_EQ(st.st_size, 3);
    CHECK_EQ(fs->ops[FUSE_LOOKUP], 1);
    fake_file(fs, "/f", 0644, "abcdefgh", 8); /* changed on the host */
    fs->now_ns += SEC / 2;
    CHECK_EQ(miura_stat("/f", &st), 0);
    CHECK_EQ(st.st_size, 3); /* still cached */
    CHECK_EQ(fs->ops[FUSE_LOOKUP], 1);
    CHECK_EQ(fs->ops[FUSE_GETATTR], 0);
    fs->now_ns += SEC / 2 + 1; /* past both timeouts */
    CHECK_EQ(miura_stat("/f", &st), 0);
    CHECK_EQ(st.st_size, 8);
    CHECK_EQ(fs->ops[FUSE_LOOKUP], 2);
    /* removed on the host: gone once the entry expires */
    fake_node(fs, fake_find(fs, "/f"))->unlinked = true;
    CHECK_EQ(miura_stat("/f", &st), 0);
    fs->now_ns += SEC + 1;
    CHECK_ERR(miura_stat("/f", &st), ENOENT);
    CHECK_CLEAN(fs);
}

TEST(attr_timeout_is_honoured)
{
    struct fake_fs *fs = harness_fake();
    struct stat st;
    int fd;

    fs->entry_ttl_ns = 100 * SEC;
    fs->attr_ttl_ns = SEC;
    CHECK_EQ(vfs_mount("/", &fs->conn), 0);
    fs->ops[FUSE_GETATTR] = 0; /* the mount's own */
    fake_file(fs, "/g", 0644, "1", 1);
    CHECK_EQ(miura_stat("/g", &st), 0);
    fake_file(fs, "/g", 0644, "12345", 5);
    fs->now_ns += SEC - 1;
    CHECK_EQ(miura_stat("/g", &st), 0);
    CHECK_EQ(st.st_size, 1);
    CHECK_EQ(fs->ops[FUSE_GETATTR], 0);
    fs->now_ns += 2;
    CHECK_EQ(miura_stat("/g", &st), 0);
    CHECK_EQ(st.st_size, 5);
    CHECK_EQ(fs->ops[FUSE_GETATTR], 1);
    CHECK_EQ(fs->ops[FUSE_LOOKUP], 1); /* the name stayed cached */
    /* fstat follows the same cache; SEEK_END too */
    fd = miura_open("/g", O_RDONLY);
    CHECK(fd >= 3);
    fake_file(fs, "/g", 0644, "1234567", 7);
    CHECK_EQ(miura_lseek(fd, 0, SEEK_END), 5);
    fs->now_ns += SEC + 1;
    CHECK_EQ(miura_fstat(fd, &st), 0);
    CHECK_EQ(st.st_size, 7);
    CHECK_EQ(miura_close(fd), 0);
    CHECK_CLEAN(fs);
}

TEST(negative_entries_and_zero_timeouts)
{
    struct fake_fs *fs = harness_fake();
    struct stat st;

    fs->negative_ttl_ns = SEC;
    CHECK_EQ(vfs_mount("/", &fs->conn), 0);
    CHECK_ERR(miura_stat("/later", &st), ENOENT);
    CHECK_EQ(fs->ops[FUSE_LOOKUP], 1);
    fake_file(fs, "/later", 0644, "", 0);
    CHECK_ERR(miura_stat("/later", &st), ENOENT); /* the absence is cached */
    CHECK_EQ(fs->ops[FUSE_LOOKUP], 1);
    fs->now_ns += SEC;
    CHECK_EQ(miura_stat("/later", &st), 0);
    CHECK_EQ(fs->ops[FUSE_LOOKUP], 2);
    /* creating through the VFS replaces a cached absence at once */
    CHECK_ERR(miura_stat("/mine", &st), ENOENT);
    CHECK_EQ(miura_close(miura_open("/mine", O_CREAT | O_WRONLY, 0600)), 0);
    CHECK_EQ(miura_stat("/mine", &st), 0);
    /* timeouts of 0: every use asks again */
    fs->entry_ttl_ns = fs->attr_ttl_ns = 0;
    fake_file(fs, "/z", 0644, "", 0);
    for (int i = 0; i < 5; i++)
        CHECK_EQ(miura_stat("/z", &st), 0);
    CHECK_EQ(fake_node(fs, fake_find(fs, "/z"))->lookups, 5);
    CHECK_CLEAN(fs);
    CHECK_EQ(fake_node(fs, fake_find(fs, "/z"))->forgets, 5);
}

/* ------------------------------------------------------------------ forgets, bounds */

TEST(forgets_balance_lookups_with_a_small_cache)
{
    struct fake_fs *fs = harness_mount();
    char path[64];
    struct stat st;
    struct miura_dir *d;
    unsigned n = 0;

    CHECK(fs);
    vfs_set_cache_limit(8);
    fake_mkdir(fs, "/d", 0755);
    for (int i = 0; i < 100; i++) {
        snprintf(path, sizeof(path), "/d/f%d", i);
        fake_file(fs, path, 0644, "x", 1);
    }
    for (int round = 0; round < 2; round++) {
        for (int i = 0; i < 100; i++) {
            snprintf(path, sizeof(path), "/d/f%d", i);
            CHECK_EQ(miura_stat(path, &st), 0);
            CHECK(vfs_cache_stats().dentries <= 8);
            CHECK(vfs_cache_stats().inodes <= 2 * 8 + 1);
        }
    }
    CHECK(fs->ops[FUSE_FORGET] > 100); /* evictions forgot nodes as they went */
    d = miura_opendir("/d");
    CHECK(d);
    while (miura_readdir(d))
        n++;
    CHECK_EQ(n, 102);
    CHECK(vfs_cache_stats().dentries <= 8);
    CHECK_EQ(miura_closedir(d), 0);
    vfs_drop_caches();
    CHECK_EQ(vfs_cache_stats().dentries, 0);
    CHECK_EQ(vfs_cache_stats().inodes, 1); /* the root */
    CHECK_EQ(fake_unforgotten(fs), 0);
    CHECK_CLEAN(fs);
}

TEST(unmount_forgets_everything_and_waits_for_open_files)
{
    struct fake_fs *fs = harness_mount();
    struct stat st;
    char path[64];
    int fd;

    CHECK(fs);
    fake_mkdir(fs, "/a", 0755);
    for (int i = 0; i < 50; i++) {
        snprintf(path, sizeof(path), "/a/f%d", i);
        fake_file(fs, path, 0644, "x", 1);
        CHECK_EQ(miura_stat(path, &st), 0);
    }
    CHECK_EQ(miura_mkdir("/a/sub", 0755), 0);
    fd = miura_open("/a/sub/new", O_CREAT | O_RDWR, 0644);
    CHECK(fd >= 3);
    CHECK_EQ(fs->ops[FUSE_FORGET], 0);
    CHECK(fake_unforgotten(fs) >= 53);
    CHECK_EQ(vfs_unmount("/"), -EBUSY);
    CHECK_EQ(miura_stat("/a/f1", &st), 0); /* still mounted and working */
    CHECK_EQ(miura_close(fd), 0);
    CHECK_EQ(fs->ops[FUSE_FORGET], 0); /* caches still hold the nodes */
    CHECK_CLEAN(fs);                   /* unmount: every lookup forgotten */
    CHECK_EQ(fs->ops[FUSE_FORGET], 53);
    CHECK_ERR(miura_stat("/a", &st), ENOENT); /* nothing mounted */
}

/* ------------------------------------------------------------------ "concurrency" */

/* The open file behind a descriptor posix.c installed. */
static struct vfs_file *file_at(int fd)
{
    return (struct vfs_file *)fd_lookup(fd);
}

/* The hooks act as another thread that runs while a request is in flight. */
static int hook_fd = -1, hook_reopened = -1;
static uint32_t hook_opcode;
static unsigned releases_in_hook;
static int unmount_in_hook;

static void close_in_flight(struct fake_fs *fs, uint32_t opcode, uint64_t nodeid)
{
    (void)nodeid;
    if (opcode != hook_opcode)
        return;
    fs->hook = NULL; /* once */
    CHECK_EQ(miura_close(hook_fd), 0);
    releases_in_hook = fs->ops[FUSE_RELEASE] + fs->ops[FUSE_RELEASEDIR];
    unmount_in_hook = vfs_unmount("/");
    hook_reopened = miura_open("/other", O_RDONLY); /* reuses the fd number */
}

TEST(close_while_read_is_in_flight)
{
    struct fake_fs *fs = harness_mount();
    char buf[16];
    int64_t n;

    CHECK(fs);
    fake_file(fs, "/f", 0644, "0123456789", 10);
    fake_file(fs, "/other", 0644, "other", 5);
    hook_fd = miura_open("/f", O_RDONLY);
    CHECK(hook_fd >= 3);
    hook_opcode = FUSE_READ;
    fs->hook = close_in_flight;
    memset(buf, 0, sizeof(buf));
    n = miura_read(hook_fd, buf, sizeof(buf));
    CHECK_EQ(n, 10);
    CHECK_STR(buf, "0123456789");
    CHECK_EQ(releases_in_hook, 0);      /* not released under the read */
    CHECK_EQ(unmount_in_hook, -EBUSY);  /* the read holds the mount */
    CHECK_EQ(hook_reopened, hook_fd);   /* the number was reused ... */
    CHECK_EQ(fs->ops[FUSE_RELEASE], 1); /* ... and the old file released after the read */
    CHECK_EQ(miura_lseek(hook_fd, 0, SEEK_CUR), 0); /* the new file's position is untouched */
    CHECK_EQ(miura_read(hook_fd, buf, sizeof(buf)), 5);
    CHECK_EQ(miura_close(hook_fd), 0);
    CHECK_ERR(miura_read(hook_fd, buf, 1), EBADF);
    CHECK_CLEAN(fs);
}

TEST(close_while_write_or_readdir_or_fstat_is_in_flight)
{
    static const uint32_t ops[] = {FUSE_WRITE, FUSE_READDIRPLUS, FUSE_GETATTR};
    struct fake_fs *fs = harness_mount();
    struct vfs_dirent de;
    struct stat st;

    CHECK(fs);
    fake_file(fs, "/f", 0644, "", 0);
    fake_file(fs, "/other", 0644, "other", 5);
    for (unsigned i = 0; i < sizeof(ops) / sizeof(ops[0]); i++) {
        hook_fd = ops[i] == FUSE_READDIRPLUS ? miura_open("/", O_RDONLY | O_DIRECTORY)
                                             : miura_open("/f", O_RDWR);
        CHECK(hook_fd >= 3);
        fs->now_ns += 10 * SEC; /* attributes stale: fstat asks */
        hook_opcode = ops[i];
        hook_reopened = -1;
        fs->hook = close_in_flight;
        if (ops[i] == FUSE_WRITE)
            CHECK_EQ(miura_write(hook_fd, "data", 4), 4);
        else if (ops[i] == FUSE_READDIRPLUS)
            CHECK_EQ(vfs_readdir(file_at(hook_fd), &de), 1);
        else
            CHECK_EQ(miura_fstat(hook_fd, &st), 0);
        CHECK(fs->hook == NULL); /* the hook ran */
        CHECK_EQ(hook_reopened, hook_fd);
        CHECK_EQ(miura_close(hook_reopened), 0);
    }
    CHECK_EQ(fake_node(fs, fake_find(fs, "/f"))->size, 4);
    CHECK_CLEAN(fs);
}

/* Another thread reads the same directory stream while our refill is in flight. */
static int race_dir_fd;
static unsigned race_seen[300];
static int race_inner_rc;

static void note_entry(const struct vfs_dirent *de)
{
    int i;

    if (sscanf(de->name, "e%d", &i) == 1 && i >= 0 && i < 300)
        race_seen[i]++;
}

static void readdir_in_flight(struct fake_fs *fs, uint32_t opcode, uint64_t nodeid)
{
    struct vfs_dirent de;

    (void)nodeid;
    if (opcode != FUSE_READDIRPLUS || fs->ops[FUSE_READDIRPLUS] < 2)
        return;
    fs->hook = NULL;
    race_inner_rc = vfs_readdir(file_at(race_dir_fd), &de);
    if (race_inner_rc == 1)
        note_entry(&de);
}

TEST(directory_stream_read_by_two_threads)
{
    struct fake_fs *fs = harness_mount();
    struct vfs_dirent de;
    char path[32];
    int rc;

    CHECK(fs);
    fake_mkdir(fs, "/d", 0755);
    for (int i = 0; i < 300; i++) {
        snprintf(path, sizeof(path), "/d/e%d", i);
        fake_file(fs, path, 0644, "", 0);
    }
    memset(race_seen, 0, sizeof(race_seen));
    race_dir_fd = miura_open("/d", O_RDONLY | O_DIRECTORY);
    CHECK(race_dir_fd >= 3);
    fs->hook = readdir_in_flight; /* fires during the second refill */
    while ((rc = vfs_readdir(file_at(race_dir_fd), &de)) == 1)
        note_entry(&de);
    CHECK_EQ(rc, 0);
    CHECK(fs->hook == NULL);
    CHECK_EQ(race_inner_rc, 1);
    for (int i = 0; i < 300; i++)
        CHECK_EQ(race_seen[i], 1); /* every entry exactly once, between both readers */
    CHECK_EQ(miura_close(race_dir_fd), 0);
    CHECK_CLEAN(fs);
}

TEST(readdir_ends_when_server_cookies_stop_advancing)
{
    struct fake_fs *fs = harness_mount();
    struct vfs_dirent de;
    char path[32];
    unsigned n = 0;
    int fd, rc;

    CHECK(fs);
    for (int i = 0; i < 300; i++) {
        snprintf(path, sizeof(path), "/e%d", i);
        fake_file(fs, path, 0644, "", 0);
    }
    fs->stuck_cookies = true; /* every batch would start over */
    fd = miura_open("/", O_RDONLY | O_DIRECTORY);
    CHECK(fd >= 3);
    while ((rc = vfs_readdir(file_at(fd), &de)) == 1 && n < 10000)
        n++;
    CHECK_EQ(rc, 0);
    CHECK_EQ(n, fs->readdir_entries_max); /* one batch, then the end */
    CHECK_EQ(fs->ops[FUSE_READDIRPLUS], 1);
    CHECK_EQ(miura_close(fd), 0);
    CHECK_CLEAN(fs);
}

/* ------------------------------------------------------------------ mounts */

TEST(mount_by_tag_from_the_command_line)
{
    struct fake_fs *fs = harness_fake();
    struct fake_fs *second = fake_new();
    struct stat st;

    fake_file(fs, "/hello", 0644, "hi", 2);
    fake_cmdline_fs = "myfs";
    CHECK_EQ(vfs_mount_tag("other", &second->conn), 1);
    CHECK_EQ(second->ops[FUSE_INIT], 0);
    CHECK_EQ(vfs_mount_tag("myfs", &fs->conn), 0);
    CHECK_EQ(fs->ops[FUSE_INIT], 1);
    CHECK_EQ(miura_stat("/hello", &st), 0);
    CHECK_CLEAN(fs);
    /* without fs=, the first device becomes "/" */
    fake_cmdline_fs = NULL;
    fs = harness_fake();
    CHECK_EQ(vfs_mount_tag("first", &fs->conn), 0);
    CHECK_EQ(vfs_mount_tag("second", &second->conn), 1);
    CHECK_EQ(second->ops[FUSE_INIT], 0);
    fake_free(second);
    CHECK_CLEAN(fs);
}

TEST(mount_by_tag_at_a_path)
{
    struct fake_fs *fs = harness_fake();
    struct fake_fs *data = fake_new();
    struct stat st;
    char buf[8];
    int fd;

    fake_file(fs, "/root.txt", 0644, "r", 1);
    fake_file(data, "/x.txt", 0644, "data", 4);
    fake_cmdline_fs = "share";
    fake_cmdline_at_key = "fs.vol1";
    fake_cmdline_at_value = "/srv/data/";
    /* the path's device first: the order of devices does not matter */
    CHECK_EQ(vfs_mount_tag("vol1", &data->conn), 0);
    CHECK_EQ(vfs_mount_tag("share", &fs->conn), 0);
    CHECK_EQ(miura_stat("/root.txt", &st), 0);
    CHECK_EQ(miura_stat("/srv/data/x.txt", &st), 0);
    CHECK_EQ((int)st.st_size, 4);
    CHECK_EQ(miura_stat("/srv/x.txt", &st), -1); /* not in the root share */
    fd = miura_open("/srv/data/../data/x.txt", O_RDONLY);
    CHECK(fd >= 3);
    CHECK_EQ((int)miura_read(fd, buf, sizeof(buf)), 4);
    CHECK(memcmp(buf, "data", 4) == 0);
    CHECK_EQ(miura_close(fd), 0);
    CHECK_EQ(vfs_unmount("/srv/data"), 0);
    /* a relative path is refused; without the word the tag is not wanted */
    fake_cmdline_at_value = "data";
    CHECK_EQ(vfs_mount_tag("vol1", &data->conn), -EINVAL);
    fake_cmdline_at_key = fake_cmdline_at_value = NULL;
    CHECK_EQ(vfs_mount_tag("vol1", &data->conn), 1);
    fake_cmdline_fs = NULL;
    fake_free(data);
    CHECK_CLEAN(fs);
}

TEST(mount_errors)
{
    struct fake_fs *fs = harness_fake();

    CHECK_EQ(vfs_mount("relative", &fs->conn), -EINVAL);
    fs->fail_opcode = FUSE_INIT;
    fs->fail_errno = EIO;
    CHECK_EQ(vfs_mount("/", &fs->conn), -EIO);
    fs->fail_opcode = FUSE_GETATTR;
    fs->fail_errno = EACCES;
    CHECK_EQ(vfs_mount("/", &fs->conn), -EACCES);
    CHECK_EQ(vfs_mount("/", &fs->conn), 0);
    CHECK_EQ(vfs_mount("/", &fs->conn), -EBUSY);
    CHECK_EQ(vfs_unmount("/nothing"), -EINVAL);
    CHECK_CLEAN(fs);
}

TEST(client_setattr_mode_and_times)
{
    struct fake_fs *fs = harness_mount();
    struct fuse_setattr_in in;
    struct fuse_attr_info a;
    struct stat st;
    uint64_t id, ttl;

    CHECK(fs);
    id = fake_file(fs, "/f", 0644, "abc", 3);
    CHECK_EQ(miura_stat("/f", &st), 0);
    memset(&in, 0, sizeof(in));
    in.valid = FATTR_MODE | FATTR_MTIME;
    in.mode = 0600;
    in.mtime = 1234567;
    CHECK_EQ(fuse_setattr(&fs->conn, id, &in, &a, &ttl), 0);
    CHECK_EQ(a.mode, S_IFREG | 0600);
    CHECK_EQ(a.mtime, 1234567);
    CHECK_EQ(a.size, 3);
    CHECK_EQ(fake_node(fs, id)->mode, S_IFREG | 0600);
    CHECK_EQ(fake_node(fs, id)->mtime, 1234567);
    CHECK_CLEAN(fs);
}

/* ------------------------------------------------------------------ broken transport */

static int broken_extra;

static int broken_call(struct fuse_conn *c, const struct iobuf *out, unsigned n_out,
                       const struct iobuf *in, unsigned n_in)
{
    unsigned total = 0;

    (void)c, (void)out, (void)n_out;
    for (unsigned i = 0; i < n_in; i++) {
        memset(in[i].addr, 0xff, in[i].len); /* garbage header and body */
        total += in[i].len;
    }
    return (int)total + broken_extra; /* with broken_extra: claims more than fits */
}

static int broken_noreply(struct fuse_conn *c, const struct iobuf *out, unsigned n_out)
{
    (void)c, (void)out, (void)n_out;
    return -EIO;
}

static uint64_t broken_now(struct fuse_conn *c)
{
    (void)c;
    return 0;
}

TEST(malformed_replies_are_errors)
{
    struct fuse_conn c = {
        .call = broken_call, .send_noreply = broken_noreply, .now_ns = broken_now};
    struct fuse_entry_info e;
    struct fuse_attr_info a;
    char buf[100];
    uint64_t ttl;

    harness_fake(); /* clean state */
    CHECK_EQ(fuse_conn_init(&c), -EPROTO);
    CHECK_EQ(vfs_mount("/", &c), -EPROTO);
    c.params.max_read = c.params.max_write = 4096;
    CHECK_EQ(fuse_lookup(&c, 1, "x", &e), -EPROTO);
    CHECK_EQ(fuse_getattr(&c, 1, false, 0, &a, &ttl), -EPROTO);
    CHECK_EQ(fuse_read(&c, 1, 1, 0, buf, sizeof(buf)), -EPROTO);
    CHECK_EQ(fuse_write(&c, 1, 1, 0, buf, sizeof(buf)), -EPROTO);
    CHECK_EQ(fuse_readdir(&c, 1, 1, 0, true, buf, sizeof(buf)), -EPROTO);
    broken_extra = 1000;
    CHECK_EQ(fuse_lookup(&c, 1, "x", &e), -EPROTO);
    CHECK_EQ(fuse_write(&c, 1, 1, 0, buf, sizeof(buf)), -EPROTO);
    CHECK_EQ(fuse_read(&c, 1, 1, 0, buf, sizeof(buf)), -EPROTO);
    broken_extra = 0;
    {
        char name[300];

        memset(name, 'a', sizeof(name));
        name[256] = '\0';
        CHECK_EQ(fuse_lookup(&c, 1, name, &e), -ENAMETOOLONG);
    }
}
