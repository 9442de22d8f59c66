/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Fuzzes the FUSE client and the VFS with arbitrary server replies: a fixed
 * script of file operations runs over a transport whose every reply comes
 * from the input. Each reply is either raw bytes or, to get past the header
 * checks, a well-formed header around a body that is partly synthesised
 * (a plausible entry, attr or open reply) and partly raw (read data,
 * directory records). Besides the sanitizers, it checks that no operation
 * returns a positive errno or an impossible count and that the caches are
 * empty after the unmount.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fs/fuse_client.h"
#include "fs/vfs.h"

struct input {
    const uint8_t *p;
    size_t n;
};
static struct input in;

static uint8_t take(void)
{
    uint8_t b = 0;

    if (in.n) {
        b = *in.p++;
        in.n--;
    }
    return b;
}

static void check(int ok)
{
    if (!ok)
        abort();
}

void console_write(const char *s, size_t n)
{
    (void)s, (void)n;
}

const char *miura_getarg(const char *key)
{
    (void)key;
    return NULL;
}

static void attr_fill(struct fuse_attr *a, uint8_t kind)
{
    static const uint32_t types[] = {FUSE_S_IFDIR, FUSE_S_IFREG, FUSE_S_IFLNK, 0};

    memset(a, 0, sizeof(*a));
    a->ino = take();
    a->size = take() * 100u;
    a->mode = types[kind & 3] | 0755;
    a->nlink = 1;
}

/* A success body for opcode in buf (cap bytes); returns its length. */
static size_t synth(uint32_t opcode, uint8_t *buf, size_t cap)
{
    uint8_t kind = take();
    size_t len = 0;

    switch (opcode) {
    case FUSE_INIT: {
        struct fuse_init_out o;

        memset(&o, 0, sizeof(o));
        o.major = 7;
        o.minor = 31;
        o.flags = ~0u;
        o.max_write = 4096;
        o.max_pages = (uint16_t)(1 + (kind & 3));
        memcpy(buf, &o, len = sizeof(o));
        break;
    }
    case FUSE_LOOKUP:
    case FUSE_MKDIR:
    case FUSE_CREATE: {
        struct fuse_entry_out e;
        struct fuse_open_out o;

        memset(&e, 0, sizeof(e));
        e.nodeid = (kind >> 4) + 1; /* few ids: cache hits and clashes */
        e.entry_valid = kind & 4 ? 1 : 0;
        e.attr_valid = kind & 8 ? 1 : 0;
        attr_fill(&e.attr, opcode == FUSE_CREATE ? 1 : opcode == FUSE_MKDIR ? 0 : kind);
        memcpy(buf, &e, len = sizeof(e));
        if (opcode == FUSE_CREATE) {
            memset(&o, 0, sizeof(o));
            o.fh = take();
            memcpy(buf + len, &o, sizeof(o));
            len += sizeof(o);
        }
        break;
    }
    case FUSE_GETATTR:
    case FUSE_SETATTR: {
        struct fuse_attr_out a;

        memset(&a, 0, sizeof(a));
        attr_fill(&a.attr, kind);
        memcpy(buf, &a, len = sizeof(a));
        break;
    }
    case FUSE_OPEN:
    case FUSE_OPENDIR: {
        struct fuse_open_out o;

        memset(&o, 0, sizeof(o));
        o.fh = kind;
        memcpy(buf, &o, len = sizeof(o));
        break;
    }
    case FUSE_WRITE: {
        struct fuse_write_out w;

        memset(&w, 0, sizeof(w));
        w.size = (uint32_t)take() * 64u;
        memcpy(buf, &w, len = sizeof(w));
        break;
    }
    default: /* READ, READDIR(PLUS), STATFS, ...: raw bytes */
        len = ((size_t)kind << 4) | (take() & 15);
        for (size_t i = 0; i < len && i < cap; i++)
            buf[i] = take();
        break;
    }
    return len < cap ? len : cap;
}

static int fuzz_call(struct fuse_conn *c, const struct iobuf *out, unsigned n_out,
                     const struct iobuf *inb, unsigned n_in)
{
    struct fuse_in_header h;
    struct fuse_out_header oh;
    uint8_t reply[1 << 16];
    size_t cap = 0, len, off = 0;
    uint8_t ctl;

    (void)c, (void)n_out;
    if (!in.n)
        return -EIO; /* the device went away */
    check(out[0].len >= sizeof(h));
    memcpy(&h, out[0].addr, sizeof(h));
    for (unsigned i = 0; i < n_in; i++)
        cap += inb[i].len;
    if (cap > sizeof(reply))
        cap = sizeof(reply);
    ctl = take();
    if (ctl & 1) { /* raw: anything at all */
        len = ((size_t)take() << 8 | take()) % (cap + 1);
        for (size_t i = 0; i < len; i++)
            reply[i] = take();
    } else { /* a proper header, maybe an error, a synthesised body */
        len = sizeof(oh);
        memset(&oh, 0, sizeof(oh));
        if (ctl & 2)
            oh.error = -(int32_t)(take() % 40);
        else
            len += synth(h.opcode, reply + sizeof(oh), cap - sizeof(oh));
        oh.len = (uint32_t)len;
        oh.unique = ctl & 4 ? h.unique + 1 : h.unique;
        memcpy(reply, &oh, sizeof(oh));
    }
    for (unsigned i = 0; i < n_in && off < len; i++) {
        size_t k = len - off < inb[i].len ? len - off : inb[i].len;

        memcpy(inb[i].addr, reply + off, k);
        off += k;
    }
    return (int)off;
}

static int fuzz_noreply(struct fuse_conn *c, const struct iobuf *out, unsigned n_out)
{
    (void)c, (void)out, (void)n_out;
    return 0;
}

static uint64_t fuzz_now(struct fuse_conn *c)
{
    static uint64_t t;

    (void)c;
    return t += 300000000u; /* timeouts of 1 s expire every few calls */
}

static void ok_or_errno(int64_t rc)
{
    check(rc >= -4095);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static char buf[20000];
    struct fuse_conn conn;
    struct vfs_dirent de;
    struct vfs_stat st;
    struct vfs_file *f, *d;
    int rc;

    in.p = data;
    in.n = size;
    memset(&conn, 0, sizeof(conn));
    conn.call = fuzz_call;
    conn.send_noreply = fuzz_noreply;
    conn.now_ns = fuzz_now;
    if (vfs_mount("/", &conn) != 0)
        return 0;
    ok_or_errno(vfs_stat("/a/b/c", &st));
    rc = vfs_open("/a/file", O_RDWR | O_CREAT, 0644, &f);
    ok_or_errno(rc);
    if (rc == 0) {
        int64_t n = vfs_read(f, buf, sizeof(buf), NULL);

        check(n <= (int64_t)sizeof(buf));
        ok_or_errno(n);
        n = vfs_write(f, buf, 10000, NULL);
        check(n <= 10000);
        ok_or_errno(n);
        int64_t at = 3;
        n = vfs_read(f, buf, 100, &at);
        check(n <= 100);
        ok_or_errno(n);
        n = vfs_write(f, buf, 7, &at);
        check(n <= 10000);
        ok_or_errno(n);
        ok_or_errno(vfs_lseek(f, 0, VFS_SEEK_END));
        ok_or_errno(vfs_fstat(f, &st));
        ok_or_errno(vfs_ftruncate(f, 5));
        ok_or_errno(vfs_close(f));
    }
    rc = vfs_open("/a", O_RDONLY | O_DIRECTORY, 0, &d);
    ok_or_errno(rc);
    for (int i = 0; rc == 0 && i < 64; i++) {
        int r = vfs_readdir(d, &de);

        ok_or_errno(r);
        if (r <= 0)
            break;
        check(strlen(de.name) >= 1 && strlen(de.name) <= 255);
        ok_or_errno(vfs_stat(de.name, &st)); /* a name from the server, as a path */
    }
    if (rc == 0)
        ok_or_errno(vfs_close(d));
    ok_or_errno(vfs_mkdir("/a/d", 0755));
    ok_or_errno(vfs_rename("/a/file", "/a/d/file"));
    ok_or_errno(vfs_unlink("/a/d/file"));
    ok_or_errno(vfs_rmdir("/a/d"));
    check(vfs_unmount("/") == 0); /* nothing is open or in flight now */
    check(vfs_cache_stats().inodes == 0 && vfs_cache_stats().dentries == 0);
    return 0;
}
