/* SPDX-License-Identifier: BSD-2-Clause */
/* FUSE message layer: request bytes, reply checks, typed parsers, dirents. */
#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "fs/fuse_msg.h"
#include "fuse_linux_abi.h"
#include "test.h"

/* ---------------------------------------------------------------- our ABI vs Linux */

#define FACT(name, v)       \
    {                       \
        name, (uint64_t)(v) \
    }
static const struct linux_fuse_fact our_facts[] = {
    FACT("fuse_in_header", sizeof(struct fuse_in_header)),
    FACT("fuse_out_header", sizeof(struct fuse_out_header)),
    FACT("fuse_attr", sizeof(struct fuse_attr)),
    FACT("fuse_entry_out", sizeof(struct fuse_entry_out)),
    FACT("fuse_attr_out", sizeof(struct fuse_attr_out)),
    FACT("fuse_init_in", sizeof(struct fuse_init_in)),
    FACT("fuse_init_out", sizeof(struct fuse_init_out)),
    FACT("fuse_forget_in", sizeof(struct fuse_forget_in)),
    FACT("fuse_getattr_in", sizeof(struct fuse_getattr_in)),
    FACT("fuse_setattr_in", sizeof(struct fuse_setattr_in)),
    FACT("fuse_mkdir_in", sizeof(struct fuse_mkdir_in)),
    FACT("fuse_rename_in", sizeof(struct fuse_rename_in)),
    FACT("fuse_open_in", sizeof(struct fuse_open_in)),
    FACT("fuse_create_in", sizeof(struct fuse_create_in)),
    FACT("fuse_open_out", sizeof(struct fuse_open_out)),
    FACT("fuse_release_in", sizeof(struct fuse_release_in)),
    FACT("fuse_flush_in", sizeof(struct fuse_flush_in)),
    FACT("fuse_read_in", sizeof(struct fuse_read_in)),
    FACT("fuse_write_in", sizeof(struct fuse_write_in)),
    FACT("fuse_write_out", sizeof(struct fuse_write_out)),
    FACT("fuse_fsync_in", sizeof(struct fuse_fsync_in)),
    FACT("fuse_kstatfs", sizeof(struct fuse_kstatfs)),
    FACT("fuse_statfs_out", sizeof(struct fuse_statfs_out)),
    FACT("fuse_dirent", sizeof(struct fuse_dirent)),
    FACT("fuse_direntplus", sizeof(struct fuse_direntplus)),
    FACT("FUSE_NAME_OFFSET", FUSE_DIRENT_NAME_OFFSET),
    FACT("FUSE_NAME_OFFSET_DIRENTPLUS", FUSE_DIRENTPLUS_NAME_OFFSET),
    FACT("off:fuse_init_out.max_write", offsetof(struct fuse_init_out, max_write)),
    FACT("off:fuse_init_out.max_pages", offsetof(struct fuse_init_out, max_pages)),
    FACT("off:fuse_attr.mode", offsetof(struct fuse_attr, mode)),
    FACT("off:fuse_setattr_in.mode", offsetof(struct fuse_setattr_in, mode)),
    FACT("off:fuse_read_in.size", offsetof(struct fuse_read_in, size)),
    FACT("FUSE_COMPAT_INIT_OUT_SIZE", FUSE_COMPAT_INIT_OUT_SIZE),
    FACT("FUSE_COMPAT_22_INIT_OUT_SIZE", FUSE_COMPAT_22_INIT_OUT_SIZE),
    FACT("FUSE_ROOT_ID", FUSE_ROOT_ID),
    FACT("FUSE_LOOKUP", FUSE_LOOKUP),
    FACT("FUSE_FORGET", FUSE_FORGET),
    FACT("FUSE_GETATTR", FUSE_GETATTR),
    FACT("FUSE_SETATTR", FUSE_SETATTR),
    FACT("FUSE_MKDIR", FUSE_MKDIR),
    FACT("FUSE_UNLINK", FUSE_UNLINK),
    FACT("FUSE_RMDIR", FUSE_RMDIR),
    FACT("FUSE_RENAME", FUSE_RENAME),
    FACT("FUSE_OPEN", FUSE_OPEN),
    FACT("FUSE_READ", FUSE_READ),
    FACT("FUSE_WRITE", FUSE_WRITE),
    FACT("FUSE_STATFS", FUSE_STATFS),
    FACT("FUSE_RELEASE", FUSE_RELEASE),
    FACT("FUSE_FSYNC", FUSE_FSYNC),
    FACT("FUSE_FLUSH", FUSE_FLUSH),
    FACT("FUSE_INIT", FUSE_INIT),
    FACT("FUSE_OPENDIR", FUSE_OPENDIR),
    FACT("FUSE_READDIR", FUSE_READDIR),
    FACT("FUSE_RELEASEDIR", FUSE_RELEASEDIR),
    FACT("FUSE_FSYNCDIR", FUSE_FSYNCDIR),
    FACT("FUSE_CREATE", FUSE_CREATE),
    FACT("FUSE_INTERRUPT", FUSE_INTERRUPT),
    FACT("FUSE_DESTROY", FUSE_DESTROY),
    FACT("FUSE_BATCH_FORGET", FUSE_BATCH_FORGET),
    FACT("FUSE_READDIRPLUS", FUSE_READDIRPLUS),
    FACT("FUSE_RENAME2", FUSE_RENAME2),
    FACT("FUSE_LSEEK", FUSE_LSEEK),
    FACT("FUSE_SYNCFS", FUSE_SYNCFS),
    FACT("FUSE_ASYNC_READ", FUSE_ASYNC_READ),
    FACT("FUSE_ATOMIC_O_TRUNC", FUSE_ATOMIC_O_TRUNC),
    FACT("FUSE_BIG_WRITES", FUSE_BIG_WRITES),
    FACT("FUSE_DO_READDIRPLUS", FUSE_DO_READDIRPLUS),
    FACT("FUSE_PARALLEL_DIROPS", FUSE_PARALLEL_DIROPS),
    FACT("FUSE_MAX_PAGES", FUSE_MAX_PAGES),
    FACT("FUSE_WRITEBACK_CACHE", FUSE_WRITEBACK_CACHE),
    FACT("FUSE_INIT_EXT", FUSE_INIT_EXT),
    FACT("FATTR_MODE", FATTR_MODE),
    FACT("FATTR_SIZE", FATTR_SIZE),
    FACT("FATTR_ATIME", FATTR_ATIME),
    FACT("FATTR_MTIME", FATTR_MTIME),
    FACT("FATTR_FH", FATTR_FH),
    FACT("FATTR_ATIME_NOW", FATTR_ATIME_NOW),
    FACT("FATTR_MTIME_NOW", FATTR_MTIME_NOW),
    FACT("FATTR_CTIME", FATTR_CTIME),
    FACT("FOPEN_DIRECT_IO", FOPEN_DIRECT_IO),
    FACT("FOPEN_KEEP_CACHE", FOPEN_KEEP_CACHE),
    FACT("FUSE_GETATTR_FH", FUSE_GETATTR_FH),
    FACT("FUSE_FSYNC_FDATASYNC", FUSE_FSYNC_FDATASYNC),
    {NULL, 0},
};

TEST(abi_matches_linux_uapi_header)
{
    int n = 0;

    for (int i = 0; linux_fuse_facts[i].name; i++, n++) {
        const struct linux_fuse_fact *l = &linux_fuse_facts[i], *o = &our_facts[i];

        CHECK(o->name);
        CHECK_STR(o->name, l->name);
        if (o->value != l->value)
            test_fail(__FILE__, __LINE__, "%s: ours %llu, Linux %llu", o->name,
                      (unsigned long long)o->value, (unsigned long long)l->value);
        CHECK(o->value == l->value);
    }
    CHECK(our_facts[n].name == NULL);
    CHECK(n > 80);
}

/* ---------------------------------------------------------------- request building */

static struct fuse_in_header in_hdr(const uint8_t *buf)
{
    struct fuse_in_header h;
    memcpy(&h, buf, sizeof(h));
    return h;
}

/* header fields common to every request */
#define CHECK_HDR(buf, want_len, op, uniq, node) \
    do {                                         \
        struct fuse_in_header h_ = in_hdr(buf);  \
        CHECK_EQ(h_.len, want_len);              \
        CHECK_EQ(h_.opcode, op);                 \
        CHECK_EQ(h_.unique, uniq);               \
        CHECK_EQ(h_.nodeid, node);               \
        CHECK_EQ(h_.uid, 0);                     \
        CHECK_EQ(h_.gid, 0);                     \
        CHECK_EQ(h_.pid, 0);                     \
        CHECK_EQ(h_.total_extlen, 0);            \
        CHECK_EQ(h_.padding, 0);                 \
    } while (0)

static uint8_t bigbuf[8192];

static void fill(void)
{
    memset(bigbuf, 0xee, sizeof(bigbuf));
}

TEST(build_init)
{
    struct fuse_init_in in;

    fill();
    CHECK_EQ(fuse_build_init(bigbuf, sizeof(bigbuf), 1), 104);
    CHECK_HDR(bigbuf, 104, FUSE_INIT, 1, 0);
    memcpy(&in, bigbuf + 40, sizeof(in));
    CHECK_EQ(in.major, 7);
    CHECK_EQ(in.minor, 31);
    CHECK_EQ(in.max_readahead, 1048576);
    CHECK_EQ(in.flags, FUSE_ASYNC_READ | FUSE_BIG_WRITES | FUSE_ATOMIC_O_TRUNC |
                           FUSE_DO_READDIRPLUS | FUSE_PARALLEL_DIROPS | FUSE_MAX_PAGES);
    CHECK_EQ(in.flags2, 0);
    for (int i = 0; i < 11; i++)
        CHECK_EQ(in.unused[i], 0);
    CHECK_EQ(bigbuf[104], 0xee); /* nothing written past the request */
}

TEST(build_lookup_and_name_rules)
{
    char name[300];

    fill();
    CHECK_EQ(fuse_build_lookup(bigbuf, sizeof(bigbuf), 7, 1, "hello"), 46);
    CHECK_HDR(bigbuf, 46, FUSE_LOOKUP, 7, 1);
    CHECK(memcmp(bigbuf + 40, "hello\0", 6) == 0);
    CHECK_EQ(bigbuf[46], 0xee);

    memset(name, 'x', sizeof(name));
    name[255] = 0;
    CHECK_EQ(fuse_build_lookup(bigbuf, sizeof(bigbuf), 7, 1, name), 40 + 256);
    CHECK_EQ(bigbuf[40 + 255], 0);
    name[255] = 'x';
    name[256] = 0;
    fill();
    CHECK_EQ(fuse_build_lookup(bigbuf, sizeof(bigbuf), 7, 1, name), -ENAMETOOLONG);
    name[299] = 0;
    CHECK_EQ(fuse_build_lookup(bigbuf, sizeof(bigbuf), 7, 1, name), -ENAMETOOLONG);
    CHECK_EQ(bigbuf[0], 0xee); /* nothing written on error */
    CHECK_EQ(fuse_build_lookup(bigbuf, sizeof(bigbuf), 7, 1, ""), -EINVAL);
    CHECK_EQ(fuse_build_lookup(bigbuf, sizeof(bigbuf), 7, 1, "a/b"), -EINVAL);
    CHECK_EQ(fuse_build_lookup(bigbuf, sizeof(bigbuf), 7, 1, NULL), -EINVAL);
    CHECK_EQ(fuse_build_lookup(bigbuf, sizeof(bigbuf), 0, 1, "a"), -EINVAL);
    CHECK_EQ(fuse_build_lookup(bigbuf, 45, 7, 1, "hello"), -ENOBUFS);
    CHECK_EQ(fuse_build_lookup(bigbuf, 46, 7, 1, "hello"), 46);
    CHECK_EQ(bigbuf[0], 46);
}

TEST(build_forget_getattr_setattr)
{
    struct fuse_forget_in f;
    struct fuse_getattr_in g;
    struct fuse_setattr_in s, got;

    fill();
    CHECK_EQ(fuse_build_forget(bigbuf, sizeof(bigbuf), 9, 42, 3), 48);
    CHECK_HDR(bigbuf, 48, FUSE_FORGET, 9, 42);
    memcpy(&f, bigbuf + 40, 8);
    CHECK_EQ(f.nlookup, 3);

    CHECK_EQ(fuse_build_getattr(bigbuf, sizeof(bigbuf), 10, 42, true, 0x1234), 56);
    CHECK_HDR(bigbuf, 56, FUSE_GETATTR, 10, 42);
    memcpy(&g, bigbuf + 40, sizeof(g));
    CHECK_EQ(g.getattr_flags, FUSE_GETATTR_FH);
    CHECK_EQ(g.dummy, 0);
    CHECK_EQ(g.fh, 0x1234);
    CHECK_EQ(fuse_build_getattr(bigbuf, sizeof(bigbuf), 10, 42, false, 0x1234), 56);
    memcpy(&g, bigbuf + 40, sizeof(g));
    CHECK_EQ(g.getattr_flags, 0);
    CHECK_EQ(g.fh, 0);

    memset(&s, 0, sizeof(s));
    s.valid = FATTR_SIZE | FATTR_FH;
    s.fh = 5;
    s.size = 1000;
    CHECK_EQ(fuse_build_setattr(bigbuf, sizeof(bigbuf), 11, 42, &s), 128);
    CHECK_HDR(bigbuf, 128, FUSE_SETATTR, 11, 42);
    memcpy(&got, bigbuf + 40, sizeof(got));
    CHECK(memcmp(&got, &s, sizeof(s)) == 0);
    CHECK_EQ(fuse_build_setattr(bigbuf, sizeof(bigbuf), 11, 42, NULL), -EINVAL);
}

TEST(build_open_create_mkdir)
{
    struct fuse_open_in o;
    struct fuse_create_in c;
    struct fuse_mkdir_in m;

    fill();
    CHECK_EQ(fuse_build_open(bigbuf, sizeof(bigbuf), 12, 42, 02, false), 48);
    CHECK_HDR(bigbuf, 48, FUSE_OPEN, 12, 42);
    memcpy(&o, bigbuf + 40, sizeof(o));
    CHECK_EQ(o.flags, 02);
    CHECK_EQ(o.open_flags, 0);
    CHECK_EQ(fuse_build_open(bigbuf, sizeof(bigbuf), 13, 42, 0, true), 48);
    CHECK_HDR(bigbuf, 48, FUSE_OPENDIR, 13, 42);

    fill();
    CHECK_EQ(fuse_build_create(bigbuf, sizeof(bigbuf), 14, 1, "f.txt", 0101, 0644, 022),
             40 + 16 + 6);
    CHECK_HDR(bigbuf, 62, FUSE_CREATE, 14, 1);
    memcpy(&c, bigbuf + 40, sizeof(c));
    CHECK_EQ(c.flags, 0101);
    CHECK_EQ(c.mode, 0644);
    CHECK_EQ(c.umask, 022);
    CHECK_EQ(c.open_flags, 0);
    CHECK(memcmp(bigbuf + 56, "f.txt\0", 6) == 0);
    CHECK_EQ(bigbuf[62], 0xee);

    CHECK_EQ(fuse_build_mkdir(bigbuf, sizeof(bigbuf), 15, 1, "d", 0755, 0), 40 + 8 + 2);
    CHECK_HDR(bigbuf, 50, FUSE_MKDIR, 15, 1);
    memcpy(&m, bigbuf + 40, sizeof(m));
    CHECK_EQ(m.mode, 0755);
    CHECK_EQ(m.umask, 0);
    CHECK(memcmp(bigbuf + 48, "d\0", 2) == 0);
    CHECK_EQ(fuse_build_mkdir(bigbuf, sizeof(bigbuf), 15, 1, "x/", 0755, 0), -EINVAL);
}

TEST(build_unlink_rmdir_rename)
{
    struct fuse_rename_in rn;
    char longname[257];

    fill();
    CHECK_EQ(fuse_build_unlink(bigbuf, sizeof(bigbuf), 16, 3, "gone", false), 45);
    CHECK_HDR(bigbuf, 45, FUSE_UNLINK, 16, 3);
    CHECK(memcmp(bigbuf + 40, "gone\0", 5) == 0);
    CHECK_EQ(fuse_build_unlink(bigbuf, sizeof(bigbuf), 17, 3, "dir", true), 44);
    CHECK_HDR(bigbuf, 44, FUSE_RMDIR, 17, 3);

    fill();
    CHECK_EQ(fuse_build_rename(bigbuf, sizeof(bigbuf), 18, 3, "old", 4, "new1"), 40 + 8 + 4 + 5);
    CHECK_HDR(bigbuf, 57, FUSE_RENAME, 18, 3);
    memcpy(&rn, bigbuf + 40, sizeof(rn));
    CHECK_EQ(rn.newdir, 4);
    CHECK(memcmp(bigbuf + 48, "old\0new1\0", 9) == 0);
    CHECK_EQ(bigbuf[57], 0xee);
    memset(longname, 'n', 256);
    longname[256] = 0;
    CHECK_EQ(fuse_build_rename(bigbuf, sizeof(bigbuf), 18, 3, "old", 4, longname), -ENAMETOOLONG);
    CHECK_EQ(fuse_build_rename(bigbuf, sizeof(bigbuf), 18, 3, longname, 4, "x"), -ENAMETOOLONG);
    CHECK_EQ(fuse_build_rename(bigbuf, sizeof(bigbuf), 18, 3, "a", 4, ""), -EINVAL);
    CHECK_EQ(fuse_build_rename(bigbuf, 56, 18, 3, "old", 4, "new1"), -ENOBUFS);
}

TEST(build_read_write)
{
    struct fuse_read_in r;
    struct fuse_write_in w;

    fill();
    CHECK_EQ(fuse_build_read(bigbuf, sizeof(bigbuf), 19, FUSE_READ, 42, 7, 4096, 65536), 80);
    CHECK_HDR(bigbuf, 80, FUSE_READ, 19, 42);
    memcpy(&r, bigbuf + 40, sizeof(r));
    CHECK_EQ(r.fh, 7);
    CHECK_EQ(r.offset, 4096);
    CHECK_EQ(r.size, 65536);
    CHECK_EQ(r.read_flags, 0);
    CHECK_EQ(r.lock_owner, 0);
    CHECK_EQ(r.flags, 0);
    CHECK_EQ(fuse_build_read(bigbuf, sizeof(bigbuf), 20, FUSE_READDIR, 1, 2, 0, 4096), 80);
    CHECK_HDR(bigbuf, 80, FUSE_READDIR, 20, 1);
    CHECK_EQ(fuse_build_read(bigbuf, sizeof(bigbuf), 21, FUSE_READDIRPLUS, 1, 2, 3, 4096), 80);
    CHECK_HDR(bigbuf, 80, FUSE_READDIRPLUS, 21, 1);
    CHECK_EQ(fuse_build_read(bigbuf, sizeof(bigbuf), 21, FUSE_WRITE, 1, 2, 3, 4096), -EINVAL);

    fill();
    CHECK_EQ(fuse_build_write(bigbuf, sizeof(bigbuf), 22, 42, 7, 100, 5000), 80);
    CHECK_HDR(bigbuf, 80 + 5000, FUSE_WRITE, 22, 42); /* len counts the data */
    memcpy(&w, bigbuf + 40, sizeof(w));
    CHECK_EQ(w.fh, 7);
    CHECK_EQ(w.offset, 100);
    CHECK_EQ(w.size, 5000);
    CHECK_EQ(w.write_flags, 0);
    CHECK_EQ(bigbuf[80], 0xee);
    CHECK_EQ(fuse_build_write(bigbuf, sizeof(bigbuf), 22, 42, 7, 100, 0), -EINVAL);
    CHECK_EQ(fuse_build_write(bigbuf, sizeof(bigbuf), 22, 42, 7, 100, UINT32_MAX), -EINVAL);
    CHECK_EQ(fuse_build_write(bigbuf, sizeof(bigbuf), 22, 42, 7, 100, UINT32_MAX - 80), 80);
}

TEST(build_release_flush_fsync_statfs)
{
    struct fuse_release_in rl;
    struct fuse_flush_in fl;
    struct fuse_fsync_in fs;

    fill();
    CHECK_EQ(fuse_build_release(bigbuf, sizeof(bigbuf), 23, 42, 7, 02, false), 64);
    CHECK_HDR(bigbuf, 64, FUSE_RELEASE, 23, 42);
    memcpy(&rl, bigbuf + 40, sizeof(rl));
    CHECK_EQ(rl.fh, 7);
    CHECK_EQ(rl.flags, 02);
    CHECK_EQ(rl.release_flags, 0);
    CHECK_EQ(rl.lock_owner, 0);
    CHECK_EQ(fuse_build_release(bigbuf, sizeof(bigbuf), 24, 42, 7, 0, true), 64);
    CHECK_HDR(bigbuf, 64, FUSE_RELEASEDIR, 24, 42);

    CHECK_EQ(fuse_build_flush(bigbuf, sizeof(bigbuf), 25, 42, 7), 64);
    CHECK_HDR(bigbuf, 64, FUSE_FLUSH, 25, 42);
    memcpy(&fl, bigbuf + 40, sizeof(fl));
    CHECK_EQ(fl.fh, 7);
    CHECK_EQ(fl.lock_owner, 0);

    CHECK_EQ(fuse_build_fsync(bigbuf, sizeof(bigbuf), 26, 42, 7, true, false), 56);
    CHECK_HDR(bigbuf, 56, FUSE_FSYNC, 26, 42);
    memcpy(&fs, bigbuf + 40, sizeof(fs));
    CHECK_EQ(fs.fh, 7);
    CHECK_EQ(fs.fsync_flags, FUSE_FSYNC_FDATASYNC);
    CHECK_EQ(fuse_build_fsync(bigbuf, sizeof(bigbuf), 27, 42, 7, false, true), 56);
    CHECK_HDR(bigbuf, 56, FUSE_FSYNCDIR, 27, 42);
    memcpy(&fs, bigbuf + 40, sizeof(fs));
    CHECK_EQ(fs.fsync_flags, 0);

    fill();
    CHECK_EQ(fuse_build_statfs(bigbuf, sizeof(bigbuf), 28, 1), 40);
    CHECK_HDR(bigbuf, 40, FUSE_STATFS, 28, 1);
    CHECK_EQ(bigbuf[40], 0xee);
}

/* ---------------------------------------------------------------- replies */

/* Builds a reply in a heap buffer of exactly its size (ASan catches overreads). */
static uint8_t *reply_buf(int32_t error, uint64_t unique, const void *body, size_t body_len,
                          size_t *written)
{
    struct fuse_out_header oh = {
        .len = (uint32_t)(16 + body_len), .error = error, .unique = unique};
    uint8_t *p = malloc(16 + body_len);

    memcpy(p, &oh, 16);
    if (body_len)
        memcpy(p + 16, body, body_len);
    *written = 16 + body_len;
    return p;
}

static int check_reply(uint32_t opcode, const void *body, size_t body_len, int32_t error,
                       struct fuse_reply *r, uint32_t read_size)
{
    size_t written;
    uint8_t *p = reply_buf(error, 77, body, body_len, &written);
    static uint8_t keep[4][4096]; /* replies stay valid for the typed parsers */
    static int k;
    int rc;

    k = (k + 1) % 4;
    memcpy(keep[k], p, written);
    free(p);
    p = keep[k];
    rc = fuse_reply_check(r, p, written, opcode, 77, read_size);
    return rc;
}

/* Every fixed-size reply: exact size ok, one byte short or long is -EPROTO. */
TEST(reply_sizes_per_opcode)
{
    static const struct {
        uint32_t op;
        uint32_t size;
    } ops[] = {
        {FUSE_LOOKUP, 128},  {FUSE_MKDIR, 128},    {FUSE_CREATE, 144}, {FUSE_GETATTR, 104},
        {FUSE_SETATTR, 104}, {FUSE_OPEN, 16},      {FUSE_OPENDIR, 16}, {FUSE_WRITE, 8},
        {FUSE_STATFS, 80},   {FUSE_UNLINK, 0},     {FUSE_RMDIR, 0},    {FUSE_RENAME, 0},
        {FUSE_RELEASE, 0},   {FUSE_RELEASEDIR, 0}, {FUSE_FLUSH, 0},    {FUSE_FSYNC, 0},
        {FUSE_FSYNCDIR, 0},
    };
    uint8_t body[256];
    struct fuse_reply r;

    memset(body, 0, sizeof(body));
    for (size_t i = 0; i < sizeof(ops) / sizeof(ops[0]); i++) {
        CHECK_EQ(check_reply(ops[i].op, body, ops[i].size, 0, &r, 0), 0);
        CHECK_EQ(r.error, 0);
        CHECK_EQ(r.opcode, ops[i].op);
        CHECK_EQ(r.body_len, ops[i].size);
        CHECK_EQ(check_reply(ops[i].op, body, ops[i].size + 1, 0, &r, 0), -EPROTO);
        if (ops[i].size)
            CHECK_EQ(check_reply(ops[i].op, body, ops[i].size - 1, 0, &r, 0), -EPROTO);
        /* an error reply is the header alone */
        CHECK_EQ(check_reply(ops[i].op, NULL, 0, -ENOENT, &r, 0), 0);
        CHECK_EQ(r.error, -ENOENT);
        CHECK_EQ(r.body_len, 0);
        CHECK(r.body == NULL);
        CHECK_EQ(check_reply(ops[i].op, body, 8, -ENOENT, &r, 0), -EPROTO);
    }
}

TEST(reply_header_checks)
{
    uint8_t body[128] = {0};
    struct fuse_reply r;
    size_t written;
    uint8_t *p = reply_buf(0, 77, body, 128, &written);
    struct fuse_out_header oh;

    CHECK_EQ(fuse_reply_check(&r, p, written, FUSE_LOOKUP, 77, 0), 0);
    CHECK_EQ(fuse_reply_check(&r, p, written, FUSE_LOOKUP, 78, 0), -EPROTO); /* unique */
    /* header len disagrees with what the device wrote */
    CHECK_EQ(fuse_reply_check(&r, p, written - 8, FUSE_LOOKUP, 77, 0), -EPROTO);
    memcpy(&oh, p, 16);
    oh.len = 200;
    memcpy(p, &oh, 16);
    CHECK_EQ(fuse_reply_check(&r, p, written, FUSE_LOOKUP, 77, 0), -EPROTO);
    oh.len = 0;
    memcpy(p, &oh, 16);
    CHECK_EQ(fuse_reply_check(&r, p, written, FUSE_LOOKUP, 77, 0), -EPROTO);
    /* shorter than a header */
    CHECK_EQ(fuse_reply_check(&r, p, 15, FUSE_LOOKUP, 77, 0), -EPROTO);
    CHECK_EQ(fuse_reply_check(&r, p, 0, FUSE_LOOKUP, 77, 0), -EPROTO);
    CHECK_EQ(fuse_reply_check(&r, NULL, 0, FUSE_LOOKUP, 77, 0), -EPROTO);
    free(p);

    /* error range: ≤ 0 and ≥ -4095 */
    CHECK_EQ(check_reply(FUSE_GETATTR, NULL, 0, 1, &r, 0), -EPROTO);
    CHECK_EQ(check_reply(FUSE_GETATTR, NULL, 0, INT32_MAX, &r, 0), -EPROTO);
    CHECK_EQ(check_reply(FUSE_GETATTR, NULL, 0, -4096, &r, 0), -EPROTO);
    CHECK_EQ(check_reply(FUSE_GETATTR, NULL, 0, INT32_MIN, &r, 0), -EPROTO);
    CHECK_EQ(check_reply(FUSE_GETATTR, NULL, 0, -4095, &r, 0), 0);
    CHECK_EQ(r.error, -4095);
    CHECK_EQ(check_reply(FUSE_GETATTR, NULL, 0, -ENOSYS, &r, 0), 0);
    CHECK_EQ(r.error, -ENOSYS);
    /* a success with no body where one is due */
    CHECK_EQ(check_reply(FUSE_GETATTR, NULL, 0, 0, &r, 0), -EPROTO);

    /* no reply exists for these, or we never send them */
    CHECK_EQ(check_reply(FUSE_FORGET, NULL, 0, 0, &r, 0), -EINVAL);
    CHECK_EQ(check_reply(FUSE_BATCH_FORGET, NULL, 0, 0, &r, 0), -EINVAL);
    CHECK_EQ(check_reply(999, NULL, 0, 0, &r, 0), -EINVAL);
}

TEST(reply_read_lengths)
{
    uint8_t data[300];
    struct fuse_reply r;

    memset(data, 'z', sizeof(data));
    CHECK_EQ(check_reply(FUSE_READ, NULL, 0, 0, &r, 256), 0); /* EOF */
    CHECK_EQ(r.body_len, 0);
    CHECK_EQ(check_reply(FUSE_READ, data, 100, 0, &r, 256), 0);
    CHECK_EQ(r.body_len, 100);
    CHECK_EQ(((const uint8_t *)r.body)[99], 'z');
    CHECK_EQ(check_reply(FUSE_READ, data, 256, 0, &r, 256), 0);
    CHECK_EQ(check_reply(FUSE_READ, data, 257, 0, &r, 256), -EPROTO);
    CHECK_EQ(check_reply(FUSE_READDIR, data, 257, 0, &r, 256), -EPROTO);
    CHECK_EQ(check_reply(FUSE_READDIRPLUS, data, 256, 0, &r, 256), 0);
    CHECK_EQ(check_reply(FUSE_READ, data, 1, 0, &r, 0), -EPROTO);
}

TEST(reply_split_buffers)
{
    struct fuse_out_header oh = {.len = 16 + 50, .error = 0, .unique = 5};
    uint8_t *hdr = malloc(16), *data = malloc(64);
    struct fuse_reply r;

    memcpy(hdr, &oh, 16);
    memset(data, 'd', 64);
    CHECK_EQ(fuse_reply_check_split(&r, hdr, data, 64, 66, FUSE_READ, 5, 64), 0);
    CHECK(r.body == data);
    CHECK_EQ(r.body_len, 50);
    /* the device cannot have written more than the body buffer holds */
    oh.len = 16 + 65;
    memcpy(hdr, &oh, 16);
    CHECK_EQ(fuse_reply_check_split(&r, hdr, data, 64, 81, FUSE_READ, 5, 128), -EPROTO);
    free(hdr);
    free(data);
}

/* ---------------------------------------------------------------- typed parsers */

static struct fuse_attr good_attr(uint32_t type)
{
    struct fuse_attr a;

    memset(&a, 0, sizeof(a));
    a.ino = 1234;
    a.size = 5678;
    a.blocks = 16;
    a.atime = 1700000000;
    a.mtime = 1700000001;
    a.ctime = 1700000002;
    a.atimensec = 1;
    a.mtimensec = 2000000000; /* out of range: clamped */
    a.ctimensec = 3;
    a.mode = type | 0644;
    a.nlink = 1;
    a.uid = 1000;
    a.gid = 100;
    a.blksize = 4096;
    return a;
}

static struct fuse_entry_out good_entry(uint64_t nodeid, uint32_t type)
{
    struct fuse_entry_out e;

    memset(&e, 0, sizeof(e));
    e.nodeid = nodeid;
    e.generation = 9;
    e.entry_valid = 1;
    e.entry_valid_nsec = 500;
    e.attr_valid = 2;
    e.attr_valid_nsec = 0;
    e.attr = good_attr(type);
    return e;
}

TEST(parse_entry_lookup_mkdir)
{
    struct fuse_entry_out w = good_entry(55, FUSE_S_IFREG);
    struct fuse_entry_info e;
    struct fuse_reply r;

    CHECK_EQ(check_reply(FUSE_LOOKUP, &w, sizeof(w), 0, &r, 0), 0);
    CHECK_EQ(fuse_parse_entry(&r, &e), 0);
    CHECK_EQ(e.nodeid, 55);
    CHECK_EQ(e.generation, 9);
    CHECK_EQ(e.entry_ttl_ns, 1000000500ull);
    CHECK_EQ(e.attr_ttl_ns, 2000000000ull);
    CHECK_EQ(e.attr.ino, 1234);
    CHECK_EQ(e.attr.size, 5678);
    CHECK_EQ(e.attr.mode, FUSE_S_IFREG | 0644);
    CHECK_EQ(e.attr.mtime, 1700000001);
    CHECK_EQ(e.attr.mtime_nsec, 999999999);
    CHECK_EQ(e.attr.atime_nsec, 1);
    CHECK_EQ(e.attr.uid, 1000);
    CHECK_EQ(e.attr.blksize, 4096);

    /* negative entry */
    w.nodeid = 0;
    CHECK_EQ(check_reply(FUSE_LOOKUP, &w, sizeof(w), 0, &r, 0), 0);
    CHECK_EQ(fuse_parse_entry(&r, &e), -ENOENT);
    CHECK_EQ(e.entry_ttl_ns, 1000000500ull);

    /* bad attributes: the node id is still reported so it can be forgotten */
    w = good_entry(56, 0);
    CHECK_EQ(check_reply(FUSE_LOOKUP, &w, sizeof(w), 0, &r, 0), 0);
    CHECK_EQ(fuse_parse_entry(&r, &e), -EPROTO);
    CHECK_EQ(e.nodeid, 56);
    w = good_entry(56, FUSE_S_IFREG);
    w.attr.size = (uint64_t)INT64_MAX + 1;
    CHECK_EQ(check_reply(FUSE_LOOKUP, &w, sizeof(w), 0, &r, 0), 0);
    CHECK_EQ(fuse_parse_entry(&r, &e), -EPROTO);

    /* MKDIR must give a directory with a node id */
    w = good_entry(57, FUSE_S_IFDIR);
    CHECK_EQ(check_reply(FUSE_MKDIR, &w, sizeof(w), 0, &r, 0), 0);
    CHECK_EQ(fuse_parse_entry(&r, &e), 0);
    CHECK_EQ(e.attr.mode & FUSE_S_IFMT, FUSE_S_IFDIR);
    w = good_entry(57, FUSE_S_IFREG);
    CHECK_EQ(check_reply(FUSE_MKDIR, &w, sizeof(w), 0, &r, 0), 0);
    CHECK_EQ(fuse_parse_entry(&r, &e), -EPROTO);
    w = good_entry(0, FUSE_S_IFDIR);
    CHECK_EQ(check_reply(FUSE_MKDIR, &w, sizeof(w), 0, &r, 0), 0);
    CHECK_EQ(fuse_parse_entry(&r, &e), -EPROTO);

    /* parsers refuse error replies and other opcodes */
    CHECK_EQ(check_reply(FUSE_LOOKUP, NULL, 0, -ENOENT, &r, 0), 0);
    CHECK_EQ(fuse_parse_entry(&r, &e), -EINVAL);
    CHECK_EQ(check_reply(FUSE_OPEN, &w, 16, 0, &r, 0), 0);
    CHECK_EQ(fuse_parse_entry(&r, &e), -EINVAL);
}

TEST(parse_create_attr_open_write_statfs)
{
    uint8_t body[144];
    struct fuse_entry_out ew = good_entry(60, FUSE_S_IFREG);
    struct fuse_open_out ow = {.fh = 0xabc, .open_flags = FOPEN_KEEP_CACHE};
    struct fuse_attr_out aw;
    struct fuse_write_out ww = {.size = 4096};
    struct fuse_statfs_out sw;
    struct fuse_entry_info e;
    struct fuse_open_info o;
    struct fuse_attr_info a;
    struct fuse_statfs_info s;
    struct fuse_reply r;
    uint64_t ttl;
    uint32_t n;

    memcpy(body, &ew, 128);
    memcpy(body + 128, &ow, 16);
    CHECK_EQ(check_reply(FUSE_CREATE, body, 144, 0, &r, 0), 0);
    CHECK_EQ(fuse_parse_create(&r, &e, &o), 0);
    CHECK_EQ(e.nodeid, 60);
    CHECK_EQ(o.fh, 0xabc);
    CHECK_EQ(o.open_flags, FOPEN_KEEP_CACHE);
    ew = good_entry(60, FUSE_S_IFDIR);
    memcpy(body, &ew, 128);
    CHECK_EQ(check_reply(FUSE_CREATE, body, 144, 0, &r, 0), 0);
    CHECK_EQ(fuse_parse_create(&r, &e, &o), -EPROTO);
    CHECK_EQ(o.fh, 0xabc); /* to be released by the caller */

    memset(&aw, 0, sizeof(aw));
    aw.attr_valid = 3;
    aw.attr_valid_nsec = 7;
    aw.attr = good_attr(FUSE_S_IFDIR);
    CHECK_EQ(check_reply(FUSE_GETATTR, &aw, sizeof(aw), 0, &r, 0), 0);
    CHECK_EQ(fuse_parse_attr(&r, &a, &ttl), 0);
    CHECK_EQ(ttl, 3000000007ull);
    CHECK_EQ(a.mode, FUSE_S_IFDIR | 0644);
    CHECK_EQ(check_reply(FUSE_SETATTR, &aw, sizeof(aw), 0, &r, 0), 0);
    CHECK_EQ(fuse_parse_attr(&r, &a, &ttl), 0);
    aw.attr.mode = 0170000; /* not a file type */
    CHECK_EQ(check_reply(FUSE_GETATTR, &aw, sizeof(aw), 0, &r, 0), 0);
    CHECK_EQ(fuse_parse_attr(&r, &a, &ttl), -EPROTO);

    CHECK_EQ(check_reply(FUSE_OPENDIR, &ow, sizeof(ow), 0, &r, 0), 0);
    CHECK_EQ(fuse_parse_open(&r, &o), 0);
    CHECK_EQ(o.fh, 0xabc);

    CHECK_EQ(check_reply(FUSE_WRITE, &ww, sizeof(ww), 0, &r, 0), 0);
    CHECK_EQ(fuse_parse_write(&r, 4096, &n), 0);
    CHECK_EQ(n, 4096);
    CHECK_EQ(fuse_parse_write(&r, 4095, &n), -EPROTO);

    memset(&sw, 0, sizeof(sw));
    sw.st.blocks = 1000;
    sw.st.bfree = 500;
    sw.st.bavail = 400;
    sw.st.files = 100;
    sw.st.ffree = 50;
    sw.st.bsize = 4096;
    sw.st.namelen = 255;
    sw.st.frsize = 4096;
    CHECK_EQ(check_reply(FUSE_STATFS, &sw, sizeof(sw), 0, &r, 0), 0);
    CHECK_EQ(fuse_parse_statfs(&r, &s), 0);
    CHECK_EQ(s.blocks, 1000);
    CHECK_EQ(s.bavail, 400);
    CHECK_EQ(s.ffree, 50);
    CHECK_EQ(s.namelen, 255);
    CHECK_EQ(s.frsize, 4096);
}

static struct fuse_init_out init_out(uint32_t minor, uint32_t flags)
{
    struct fuse_init_out o;

    memset(&o, 0, sizeof(o));
    o.major = 7;
    o.minor = minor;
    o.max_readahead = 131072;
    o.flags = flags;
    o.max_background = 64;
    o.max_write = 131072;
    o.time_gran = 1;
    o.max_pages = 64;
    return o;
}

/* The struct followed by spare zero bytes, for oversized replies. */
static const void *init_bytes(const struct fuse_init_out *o)
{
    static uint8_t b[128];

    memset(b, 0, sizeof(b));
    memcpy(b, o, sizeof(*o));
    return b;
}

TEST(parse_init_negotiation)
{
    struct fuse_init_out o = init_out(31, 0xffffffffu);
    struct fuse_session_params s;
    struct fuse_reply r;

    CHECK_EQ(check_reply(FUSE_INIT, init_bytes(&o), 64, 0, &r, 0), 0);
    CHECK_EQ(fuse_parse_init(&r, &s), 0);
    CHECK_EQ(s.minor, 31);
    CHECK_EQ(s.flags, FUSE_MSG_INIT_FLAGS); /* only what we asked for */
    CHECK_EQ(s.max_pages, 64);
    CHECK_EQ(s.max_read, 64 * 4096);
    CHECK_EQ(s.max_write, 131072);
    CHECK_EQ(s.max_readahead, 131072);
    CHECK_EQ(s.time_gran, 1);
    CHECK_EQ(s.max_background, 64);

    /* a newer server: we speak our minor; the struct is still 64 bytes */
    o = init_out(38, FUSE_ASYNC_READ);
    CHECK_EQ(check_reply(FUSE_INIT, init_bytes(&o), 64, 0, &r, 0), 0);
    CHECK_EQ(fuse_parse_init(&r, &s), 0);
    CHECK_EQ(s.minor, 31);
    CHECK_EQ(s.flags, FUSE_ASYNC_READ);
    CHECK_EQ(s.max_pages, 32); /* no FUSE_MAX_PAGES granted */
    CHECK_EQ(s.max_write, 131072);

    /* absurd values clamped */
    o = init_out(31, FUSE_MAX_PAGES);
    o.max_pages = 0;
    o.max_write = 0;
    o.time_gran = 0;
    o.max_readahead = UINT32_MAX;
    o.max_background = 0;
    CHECK_EQ(check_reply(FUSE_INIT, init_bytes(&o), 64, 0, &r, 0), 0);
    CHECK_EQ(fuse_parse_init(&r, &s), 0);
    CHECK_EQ(s.max_pages, 1);
    CHECK_EQ(s.max_read, 4096);
    CHECK_EQ(s.max_write, 4096);
    CHECK_EQ(s.time_gran, 1);
    CHECK_EQ(s.max_readahead, FUSE_MSG_MAX_READAHEAD);
    CHECK_EQ(s.max_background, 12);
    o.max_pages = 65535;
    o.max_write = UINT32_MAX;
    o.time_gran = 2000000000;
    CHECK_EQ(check_reply(FUSE_INIT, init_bytes(&o), 64, 0, &r, 0), 0);
    CHECK_EQ(fuse_parse_init(&r, &s), 0);
    CHECK_EQ(s.max_pages, 256);
    CHECK_EQ(s.max_read, 1048576);
    CHECK_EQ(s.max_write, 1048576);
    CHECK_EQ(s.time_gran, 1);
    o.time_gran = 1000;
    CHECK_EQ(check_reply(FUSE_INIT, init_bytes(&o), 64, 0, &r, 0), 0);
    CHECK_EQ(fuse_parse_init(&r, &s), 0);
    CHECK_EQ(s.time_gran, 1000);

    /* minor-dependent sizes: 7.22 sends 24 bytes */
    o = init_out(22, FUSE_MAX_PAGES | FUSE_DO_READDIRPLUS);
    CHECK_EQ(check_reply(FUSE_INIT, init_bytes(&o), 24, 0, &r, 0), 0);
    CHECK_EQ(fuse_parse_init(&r, &s), 0);
    CHECK_EQ(s.minor, 22);
    CHECK_EQ(s.flags, FUSE_DO_READDIRPLUS); /* max_pages did not exist in 7.22 */
    CHECK_EQ(s.max_pages, 32);
    CHECK_EQ(s.time_gran, 1);
    CHECK_EQ(check_reply(FUSE_INIT, init_bytes(&o), 64, 0, &r, 0), -EPROTO);
    o = init_out(31, 0);
    CHECK_EQ(check_reply(FUSE_INIT, init_bytes(&o), 24, 0, &r, 0), -EPROTO);
    CHECK_EQ(check_reply(FUSE_INIT, init_bytes(&o), 63, 0, &r, 0), -EPROTO);
    CHECK_EQ(check_reply(FUSE_INIT, init_bytes(&o), 65, 0, &r, 0), -EPROTO);
    CHECK_EQ(check_reply(FUSE_INIT, init_bytes(&o), 7, 0, &r, 0), -EPROTO);

    /* versions we do not speak */
    o = init_out(11, 0);
    CHECK_EQ(check_reply(FUSE_INIT, init_bytes(&o), 24, 0, &r, 0), 0);
    CHECK_EQ(fuse_parse_init(&r, &s), -EPROTONOSUPPORT);
    o = init_out(31, 0);
    o.major = 8;
    CHECK_EQ(check_reply(FUSE_INIT, init_bytes(&o), 8, 0, &r, 0), 0);
    CHECK_EQ(fuse_parse_init(&r, &s), -EPROTONOSUPPORT);
    o.major = 6;
    CHECK_EQ(check_reply(FUSE_INIT, init_bytes(&o), 64, 0, &r, 0), 0);
    CHECK_EQ(fuse_parse_init(&r, &s), -EPROTONOSUPPORT);
    CHECK_EQ(check_reply(FUSE_INIT, NULL, 0, -EPROTO, &r, 0), 0);
    CHECK_EQ(fuse_parse_init(&r, &s), -EINVAL);
}

TEST(ttl_and_deadline_overflow_safe)
{
    CHECK_EQ(fuse_ttl_ns(0, 0), 0);
    CHECK_EQ(fuse_ttl_ns(1, 5), 1000000005ull);
    CHECK_EQ(fuse_ttl_ns(0, 2000000000u), 999999999ull);
    CHECK(fuse_ttl_ns(18446744073ull, 709551615u) == UINT64_MAX); /* exactly */
    CHECK(fuse_ttl_ns(18446744073ull, 709551614u) == UINT64_MAX - 1);
    CHECK(fuse_ttl_ns(18446744073ull, 709551616u) == UINT64_MAX); /* saturates */
    CHECK(fuse_ttl_ns(18446744074ull, 0) == UINT64_MAX);
    CHECK(fuse_ttl_ns(UINT64_MAX, UINT32_MAX) == UINT64_MAX);
    CHECK_EQ(fuse_deadline_ns(100, 0, 50), 150);
    CHECK_EQ(fuse_deadline_ns(1000000000ull, 2, 1), 3000000001ull);
    CHECK(fuse_deadline_ns(UINT64_MAX - 10, 0, 10) == UINT64_MAX);
    CHECK(fuse_deadline_ns(UINT64_MAX - 10, 0, 11) == UINT64_MAX);
    CHECK(fuse_deadline_ns(UINT64_MAX - 10, 0, 9) == UINT64_MAX - 1);
    CHECK(fuse_deadline_ns(5, UINT64_MAX, 0) == UINT64_MAX);
}

/* ---------------------------------------------------------------- directory records */

/* Appends one record (name may contain anything; namelen as given). */
static size_t put_dirent(uint8_t *buf, size_t pos, bool plus, const struct fuse_entry_out *e,
                         uint64_t ino, uint64_t off, uint32_t type, const char *name,
                         uint32_t namelen, bool pad)
{
    struct fuse_dirent d = {.ino = ino, .off = off, .namelen = namelen, .type = type};
    size_t hdr = plus ? 152 : 24, rec;

    if (plus)
        memcpy(buf + pos, e, sizeof(*e));
    memcpy(buf + pos + hdr - 24, &d, 24);
    memcpy(buf + pos + hdr, name, namelen);
    rec = hdr + namelen;
    if (pad) {
        while (rec % 8)
            buf[pos + rec++] = 0;
    }
    return pos + rec;
}

/* Copies to an exact-size heap buffer and iterates; returns records seen or the error. */
static int iterate(const uint8_t *src, size_t len, bool plus, struct fuse_dirent_info *out, int max)
{
    uint8_t *p = len ? malloc(len) : NULL;
    struct fuse_dirent_iter it;
    struct fuse_dirent_info d;
    int n = 0, rc;

    if (len)
        memcpy(p, src, len);
    fuse_dirent_iter_init(&it, p, len, plus);
    while ((rc = fuse_dirent_next(&it, &d)) == 1) {
        if (n < max) {
            out[n] = d;
            out[n].name = NULL; /* the buffer goes away */
        }
        n++;
    }
    if (rc == -EPROTO && fuse_dirent_next(&it, &d) != -EPROTO)
        rc = -EIO; /* the failure must be sticky */
    free(p);
    return rc < 0 ? rc : n;
}

TEST(readdir_records)
{
    uint8_t buf[1024];
    struct fuse_dirent_info d[4];
    size_t len = 0;

    len = put_dirent(buf, len, false, NULL, 10, 1, 4, ".", 1, true);
    len = put_dirent(buf, len, false, NULL, 11, 2, 8, "hello", 5, true);
    len = put_dirent(buf, len, false, NULL, 12, 3, 8, "12345678", 8, true); /* no padding */
    CHECK_EQ(len, 32 + 32 + 32);
    CHECK_EQ(iterate(buf, len, false, d, 4), 3);
    CHECK_EQ(d[0].ino, 10);
    CHECK_EQ(d[0].type, 4);
    CHECK_EQ(d[1].off, 2);
    CHECK_EQ(d[1].namelen, 5);
    CHECK_EQ(d[2].namelen, 8);
    CHECK(!d[2].has_entry);
    CHECK_EQ(iterate(buf, 0, false, d, 4), 0);

    /* the name pointer points into the buffer */
    struct fuse_dirent_iter it;
    struct fuse_dirent_info x;
    fuse_dirent_iter_init(&it, buf, len, false);
    CHECK_EQ(fuse_dirent_next(&it, &x), 1);
    CHECK_EQ(fuse_dirent_next(&it, &x), 1);
    CHECK(x.name == (const char *)buf + 32 + 24);
    CHECK(memcmp(x.name, "hello", 5) == 0);

    /* a longest name */
    char name[256];
    memset(name, 'q', 255);
    len = put_dirent(buf, 0, false, NULL, 1, 1, 8, name, 255, true);
    CHECK_EQ(iterate(buf, len, false, d, 4), 1);
    CHECK_EQ(d[0].namelen, 255);
}

TEST(readdir_malformed_records)
{
    uint8_t buf[1024];
    struct fuse_dirent_info d[4];
    size_t len, good;
    char name[300];

    memset(name, 'a', sizeof(name));
    good = put_dirent(buf, 0, false, NULL, 1, 1, 8, "ok", 2, true);
    /* namelen 0 */
    len = put_dirent(buf, good, false, NULL, 1, 1, 8, "", 0, true);
    CHECK_EQ(iterate(buf, len, false, d, 4), -EPROTO);
    /* namelen 256 */
    len = put_dirent(buf, good, false, NULL, 1, 1, 8, name, 256, true);
    CHECK_EQ(iterate(buf, len, false, d, 4), -EPROTO);
    /* namelen far past the buffer */
    len = put_dirent(buf, good, false, NULL, 1, 1, 8, "x", 1, true);
    {
        uint32_t huge = 0xffffffffu;
        memcpy(buf + good + 16, &huge, 4);
    }
    CHECK_EQ(iterate(buf, len, false, d, 4), -EPROTO);
    /* '/' and NUL in names */
    len = put_dirent(buf, good, false, NULL, 1, 1, 8, "a/b", 3, true);
    CHECK_EQ(iterate(buf, len, false, d, 4), -EPROTO);
    len = put_dirent(buf, good, false, NULL, 1, 1, 8, "a\0b", 3, true);
    CHECK_EQ(iterate(buf, len, false, d, 4), -EPROTO);
    /* last record without its padding: record runs past the buffer */
    len = put_dirent(buf, good, false, NULL, 1, 1, 8, "abc", 3, false);
    CHECK_EQ(len % 8, 3);
    CHECK_EQ(iterate(buf, len, false, d, 4), -EPROTO);
    /* trailing bytes shorter than a record header */
    CHECK_EQ(iterate(buf, good + 8, false, d, 4), -EPROTO);
    CHECK_EQ(iterate(buf, good + 23, false, d, 4), -EPROTO);
    /* type out of range */
    len = put_dirent(buf, good, false, NULL, 1, 1, 16, "t", 1, true);
    CHECK_EQ(iterate(buf, len, false, d, 4), -EPROTO);
    /* each prefix of a good buffer either parses whole records or fails */
    len = put_dirent(buf, good, false, NULL, 2, 2, 8, "second", 6, true);
    for (size_t cut = 0; cut <= len; cut++) {
        int rc = iterate(buf, cut, false, d, 4);
        if (cut == 0)
            CHECK_EQ(rc, 0);
        else if (cut == good)
            CHECK_EQ(rc, 1);
        else if (cut == len)
            CHECK_EQ(rc, 2);
        else
            CHECK_EQ(rc, -EPROTO);
    }
}

TEST(readdirplus_records)
{
    static uint8_t buf[2048];
    struct fuse_entry_out none, file = good_entry(70, FUSE_S_IFREG), bad = good_entry(71, 0);
    struct fuse_dirent_info d[4];
    size_t len = 0;

    memset(&none, 0, sizeof(none));
    len = put_dirent(buf, len, true, &none, 1, 1, 4, "..", 2, true);
    len = put_dirent(buf, len, true, &file, 1234, 2, 8, "file", 4, true);
    CHECK_EQ(len, 160 + 160);
    CHECK_EQ(iterate(buf, len, true, d, 4), 2);
    CHECK(!d[0].has_entry);
    CHECK(d[1].has_entry);
    CHECK_EQ(d[1].entry.nodeid, 70);
    CHECK_EQ(d[1].entry.attr.size, 5678);
    CHECK_EQ(d[1].entry.entry_ttl_ns, 1000000500ull);
    CHECK_EQ(d[1].ino, 1234);
    CHECK_EQ(d[1].off, 2);
    /* the same bytes read as plain dirents are garbage */
    CHECK_EQ(iterate(buf, len, false, d, 4), -EPROTO);
    /* bad attributes in one entry spoil the reply */
    len = put_dirent(buf, len, true, &bad, 1, 3, 8, "bad", 3, true);
    CHECK_EQ(iterate(buf, len, true, d, 4), -EPROTO);
    /* a plus header cut short */
    CHECK_EQ(iterate(buf, 151, true, d, 4), -EPROTO);
}
