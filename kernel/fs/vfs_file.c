/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Open files and the operations on them. Descriptors are the descriptor
 * layer's (lib/fd); posix.c installs open files there.
 *
 * An open file is reference-counted: its opener (the descriptor table)
 * holds one reference, and every operation holds one more while it runs (it
 * may block in a FUSE request). vfs_close() drops the opener's reference;
 * RELEASE goes to the server when the last reference goes, so a file closed
 * by one thread while another reads it stays valid until that read returns.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>

#include "fs/vfs_impl.h"
#include "lib/fd/fd.h"

#define ACCMODE 3

struct vfs_file {
    struct fd_object fdo; /* first (vfs.h); fdo.flags: as given to open() */
    uint32_t refs;
    struct vfs_inode *inode; /* holds a reference */
    uint64_t fh;
    bool dir;
    uint64_t pos;
    /* directory stream */
    uint8_t *dbuf;    /* last READDIR(PLUS) body */
    uint32_t dlen;    /* its length */
    uint32_t dpos;    /* next record in it */
    uint64_t dcookie; /* offset to continue reading from the server */
    uint32_t dgen;    /* bumped whenever the stream moves */
    bool deof;        /* the server has no more */
    bool deof_after;  /* the server's cookies stopped advancing: end after dbuf */
};

/* Takes a reference for an operation. */
static struct vfs_file *file_get(struct vfs_file *f)
{
    f->refs++;
    return f;
}

/* Drops a reference; the last one RELEASEs the file (blocks). */
static void file_put(struct vfs_file *f)
{
    struct vfs_inode *i = f->inode;

    if (--f->refs)
        return;
    (void)fuse_release(i->conn, i->nodeid, f->fh, f->fdo.flags & ~(uint32_t)O_CREAT, f->dir);
    i->mnt->files--;
    vfs_inode_put(i);
    free(f->dbuf);
    free(f);
}

/* Ends an operation: drops its file reference, sends queued FORGETs. */
static void op_done(struct vfs_file *f)
{
    file_put(f);
    vfs_forget_flush();
}

void vfs_file_ref(struct vfs_file *f, int delta)
{
    if (delta > 0)
        file_get(f);
    else
        op_done(f);
}

/* ------------------------------------------------------------------ open */

/* The flags an OPEN/CREATE carries: what the server has to know. */
static uint32_t server_flags(const struct fuse_conn *c, int flags)
{
    uint32_t f = (uint32_t)flags & (ACCMODE | O_APPEND);

    if ((flags & O_TRUNC) && (c->params.flags & FUSE_ATOMIC_O_TRUNC))
        f |= O_TRUNC;
    return f;
}

/* Opens the node i (a reference the file takes over on success). */
static int open_node(struct vfs_inode *i, int flags, struct vfs_file **out)
{
    struct fuse_conn *c = i->conn;
    struct fuse_open_info o;
    struct vfs_file *f;
    bool dir = vfs_is_dir(i);
    int rc;

    if (vfs_is_link(i))
        return -ELOOP;
    if ((flags & O_DIRECTORY) && !dir)
        return -ENOTDIR;
    if (dir && ((flags & ACCMODE) != O_RDONLY || (flags & (O_TRUNC | O_CREAT))))
        return -EISDIR;
    f = calloc(1, sizeof(*f));
    if (!f)
        return -ENOMEM;
    rc = fuse_open(c, i->nodeid, dir ? (uint32_t)O_RDONLY : server_flags(c, flags), dir,
                   &o); /* blocks */
    if (rc < 0) {
        free(f);
        return rc;
    }
    f->refs = 1;
    f->inode = i;
    f->fh = o.fh;
    f->fdo.flags = (uint32_t)flags;
    f->dir = dir;
    i->mnt->files++;
    if ((flags & O_TRUNC) && !dir) {
        vfs_attr_invalidate(i);
        if (!(c->params.flags & FUSE_ATOMIC_O_TRUNC)) {
            struct fuse_setattr_in in;
            struct fuse_attr_info a;
            uint64_t ttl;

            memset(&in, 0, sizeof(in));
            in.valid = FATTR_SIZE | FATTR_FH;
            in.fh = f->fh;
            rc = fuse_setattr(c, i->nodeid, &in, &a, &ttl); /* blocks */
            if (rc < 0) {
                vfs_inode_get(i); /* the caller still owns its reference */
                file_put(f);
                return rc;
            }
            vfs_attr_set(i, &a, ttl, vfs_now(i->mnt));
        }
    }
    *out = f;
    return 0;
}

/* O_CREAT of w->last in w->inode: opens or creates. */
static int open_create(struct vfs_walk *w, int flags, uint32_t mode, struct vfs_file **out)
{
    struct fuse_conn *c = w->mnt->conn;
    size_t len = strlen(w->last);
    struct fuse_entry_info e;
    struct fuse_open_info o;
    struct vfs_inode *i;
    struct vfs_file *f;
    uint64_t now;
    int rc;

    /* O_EXCL goes straight to CREATE: the server decides atomically, and a
     * cached name must not turn into a false EEXIST. */
    rc = flags & O_EXCL ? -ENOENT : vfs_lookup_child(w->inode, w->last, len, &i); /* blocks */
    if (rc == 0) {
        rc = open_node(i, flags, out);
        if (rc < 0)
            vfs_inode_put(i);
        return rc;
    }
    if (rc != -ENOENT)
        return rc;
    if (w->trailing_slash)
        return -EISDIR;
    f = calloc(1, sizeof(*f));
    if (!f)
        return -ENOMEM;
    rc = fuse_create(c, w->inode->nodeid, w->last,
                     server_flags(c, flags) | (uint32_t)(flags & (O_CREAT | O_EXCL)),
                     FUSE_S_IFREG | (mode & 07777), 0, &e, &o); /* blocks */
    if (rc < 0) {
        free(f);
        return rc;
    }
    now = vfs_now(w->mnt);
    i = vfs_inode_from_entry(w->mnt, &e, now);
    if (!i) {
        (void)fuse_release(c, e.nodeid, o.fh, (uint32_t)flags, false);
        free(f);
        return -ENOMEM;
    }
    vfs_dentry_set(w->inode, w->last, len, i, vfs_deadline(now, e.entry_ttl_ns));
    vfs_attr_invalidate(w->inode);
    f->refs = 1;
    f->inode = i;
    f->fh = o.fh;
    f->fdo.flags = (uint32_t)flags;
    i->mnt->files++;
    *out = f;
    return 0;
}

int vfs_open(const char *path, int flags, uint32_t mode, struct vfs_file **out)
{
    struct vfs_file *f = NULL;
    struct vfs_walk w;
    int rc;

    if ((flags & ACCMODE) == ACCMODE)
        return -EINVAL;
    if (flags & O_CREAT) {
        rc = vfs_walk(path, true, &w);
        if (rc == 0 && !w.last) /* a mount root */
            rc = (flags & O_EXCL) ? -EEXIST : -EISDIR;
        if (rc == 0)
            rc = open_create(&w, flags, mode, &f);
    } else {
        rc = vfs_walk(path, false, &w);
        if (rc == 0) {
            rc = open_node(w.inode, flags, &f);
            if (rc == 0)
                w.inode = NULL; /* the file took the reference */
        }
    }
    vfs_walk_done(&w);
    if (rc == 0)
        *out = f;
    return rc;
}

int vfs_close(struct vfs_file *f)
{
    struct vfs_mount *m = f->inode->mnt;
    int rc = 0;

    if (!f->dir && !m->no_flush) {
        rc = fuse_flush(f->inode->conn, f->inode->nodeid, f->fh); /* blocks */
        if (rc == -ENOSYS) {
            m->no_flush = true;
            rc = 0;
        }
    }
    op_done(f);
    return rc;
}

/* ------------------------------------------------------------------ data */

/* Clamps n so that off + n stays a valid offset and n ≤ FD_MAX_RW. */
static size_t clamp_count(size_t n, uint64_t off)
{
    if (n > FD_MAX_RW)
        n = FD_MAX_RW;
    if (off >= (uint64_t)INT64_MAX)
        return 0;
    if (n > (uint64_t)INT64_MAX - off)
        n = (size_t)((uint64_t)INT64_MAX - off);
    return n;
}

int64_t vfs_read(struct vfs_file *f, void *buf, size_t n, const int64_t *at)
{
    bool positional = at != NULL;
    struct vfs_inode *i = file_get(f)->inode;
    uint64_t off;
    int64_t r;

    if (f->dir)
        r = -EISDIR;
    else if ((f->fdo.flags & ACCMODE) == O_WRONLY)
        r = -EBADF;
    else if (positional && *at < 0)
        r = -EINVAL;
    else {
        off = positional ? (uint64_t)*at : f->pos;
        n = clamp_count(n, off);
        r = n ? fuse_read(i->conn, i->nodeid, f->fh, off, buf, n) : 0; /* blocks */
        if (r > 0 && !positional)
            f->pos = off + (uint64_t)r; /* f is still ours, even if closed meanwhile */
    }
    op_done(f);
    return r;
}

int64_t vfs_write(struct vfs_file *f, const void *buf, size_t n, const int64_t *at)
{
    bool positional = at != NULL;
    struct vfs_inode *i = file_get(f)->inode;
    struct fuse_attr_info a;
    uint64_t off;
    int64_t r = 0;

    if ((f->fdo.flags & ACCMODE) == O_RDONLY)
        r = -EBADF; /* directories too: they open read-only */
    else if (f->dir)
        r = -EISDIR;
    else if (positional && *at < 0)
        r = -EINVAL;
    if (r < 0)
        goto out;
    off = positional ? (uint64_t)*at : f->pos;
    if ((f->fdo.flags & O_APPEND) && !positional) {
        /* The end as the server sees it now (another writer, the host). */
        r = vfs_getattr(i, true, f->fh, true, &a); /* blocks */
        if (r < 0)
            goto out;
        off = a.size;
    }
    n = clamp_count(n, off);
    if (n == 0 && off >= (uint64_t)INT64_MAX && positional)
        r = -EFBIG;
    else
        r = n ? fuse_write(i->conn, i->nodeid, f->fh, off, buf, n) : 0; /* blocks */
    if (r > 0) {
        vfs_attr_invalidate(i); /* size, mtime */
        if (!positional)
            f->pos = off + (uint64_t)r;
    }
out:
    op_done(f);
    return r;
}

/* Restarts a directory stream from the beginning. */
static void dir_rewind(struct vfs_file *f)
{
    free(f->dbuf);
    f->dbuf = NULL;
    f->dlen = f->dpos = 0;
    f->dcookie = 0;
    f->deof = f->deof_after = false;
    f->dgen++;
}

int64_t vfs_lseek(struct vfs_file *f, int64_t off, int whence)
{
    struct fuse_attr_info a;
    int64_t base, r;

    file_get(f);
    if (f->dir) {
        if (whence == VFS_SEEK_SET && off == 0) {
            dir_rewind(f);
            r = 0;
        } else {
            r = -EINVAL;
        }
        goto out;
    }
    switch (whence) {
    case VFS_SEEK_SET:
        base = 0;
        break;
    case VFS_SEEK_CUR:
        base = (int64_t)f->pos;
        break;
    case VFS_SEEK_END:
        r = vfs_getattr(f->inode, true, f->fh, false, &a); /* blocks */
        if (r < 0)
            goto out;
        base = (int64_t)a.size;
        break;
    default:
        r = -EINVAL;
        goto out;
    }
    if (off > 0 && base > INT64_MAX - off) {
        r = -EOVERFLOW;
    } else if (base + off < 0) {
        r = -EINVAL;
    } else {
        r = base + off;
        f->pos = (uint64_t)r;
    }
out:
    op_done(f);
    return r;
}

int vfs_fsync(struct vfs_file *f)
{
    int rc;

    file_get(f);
    rc = fuse_fsync(f->inode->conn, f->inode->nodeid, f->fh, false, f->dir); /* blocks */
    op_done(f);
    return rc == -ENOSYS ? 0 : rc;
}

int vfs_ftruncate(struct vfs_file *f, int64_t len)
{
    struct fuse_setattr_in in;
    struct fuse_attr_info a;
    uint64_t ttl;
    int rc;

    file_get(f);
    if (len < 0 || f->dir || (f->fdo.flags & ACCMODE) == O_RDONLY) {
        rc = -EINVAL;
        goto out;
    }
    memset(&in, 0, sizeof(in));
    in.valid = FATTR_SIZE | FATTR_FH;
    in.size = (uint64_t)len;
    in.fh = f->fh;
    rc = fuse_setattr(f->inode->conn, f->inode->nodeid, &in, &a, &ttl); /* blocks */
    if (rc == 0)
        vfs_attr_set(f->inode, &a, ttl, vfs_now(f->inode->mnt));
out:
    op_done(f);
    return rc;
}

int vfs_fstat(struct vfs_file *f, struct vfs_stat *st)
{
    int rc;

    file_get(f);
    st->dev = f->inode->mnt->dev;
    rc = vfs_getattr(f->inode, !f->dir, f->fh, false, &st->attr); /* blocks */
    op_done(f);
    return rc;
}

/* ------------------------------------------------------------------ directories */

/*
 * Checks every record of a READDIR(PLUS) body once, and takes a
 * READDIRPLUS body's lookups over: every record with a node becomes (or
 * refreshes) a cached name, so a stat after readdir costs nothing; the
 * lookup counts go to the inodes, which FORGET them in the end. Returns
 * the cookie of the last record in *last, or -EPROTO.
 */
static int dir_scan(struct vfs_file *f, const uint8_t *body, uint32_t len, bool plus,
                    uint64_t *last)
{
    struct vfs_inode *dir = f->inode;
    struct fuse_dirent_iter it;
    struct fuse_dirent_info d;
    uint64_t now = vfs_now(dir->mnt);
    int rc;

    fuse_dirent_iter_init(&it, body, len, plus);
    while ((rc = fuse_dirent_next(&it, &d)) > 0) {
        struct vfs_inode *c;
        bool dots = (d.namelen == 1 && d.name[0] == '.') ||
                    (d.namelen == 2 && d.name[0] == '.' && d.name[1] == '.');

        *last = d.off;
        if (!d.has_entry)
            continue;
        c = vfs_inode_from_entry(dir->mnt, &d.entry, now);
        if (!c)
            continue; /* queued for FORGET */
        if (!dots)
            vfs_dentry_set(dir, d.name, d.namelen, c, vfs_deadline(now, d.entry.entry_ttl_ns));
        vfs_inode_put(c);
    }
    return rc;
}

/* Fetches the next batch of entries into f. 0, or -errno. Blocks. */
static int dir_fill(struct vfs_file *f)
{
    struct vfs_inode *i = f->inode;
    bool plus = (i->conn->params.flags & FUSE_DO_READDIRPLUS) != 0;
    uint64_t cookie = f->dcookie, last = cookie;
    uint32_t gen = f->dgen;
    uint8_t *buf = malloc(VFS_DIRBUF_SIZE);
    int n;

    if (!buf)
        return -ENOMEM;
    n = fuse_readdir(i->conn, i->nodeid, f->fh, cookie, plus, buf, VFS_DIRBUF_SIZE); /* blocks */
    if (n >= 0) {
        int rc = dir_scan(f, buf, (uint32_t)n, plus, &last);

        if (rc < 0)
            n = rc;
    }
    if (f->dgen != gen) { /* another thread moved the stream meanwhile */
        free(buf);
        return n < 0 ? n : 0;
    }
    if (n < 0) {
        free(buf);
        return n;
    }
    free(f->dbuf);
    f->dbuf = buf;
    f->dlen = (uint32_t)n;
    f->dpos = 0;
    f->deof = n == 0;
    /* A batch that ends where it began would repeat forever: the last one. */
    f->deof_after = last == cookie;
    f->dgen++;
    return 0;
}

int vfs_readdir(struct vfs_file *f, struct vfs_dirent *out)
{
    bool plus;
    int rc;

    file_get(f);
    if (!f->dir) {
        rc = -ENOTDIR;
        goto out;
    }
    plus = (f->inode->conn->params.flags & FUSE_DO_READDIRPLUS) != 0;
    for (;;) {
        if (f->dbuf && f->dpos < f->dlen) {
            struct fuse_dirent_iter it;
            struct fuse_dirent_info d;

            fuse_dirent_iter_init(&it, f->dbuf, f->dlen, plus);
            it.pos = f->dpos;
            rc = fuse_dirent_next(&it, &d);
            if (rc > 0) {
                out->ino = d.ino;
                out->off = d.off;
                out->type = d.type;
                memcpy(out->name, d.name, d.namelen);
                out->name[d.namelen] = '\0';
                f->dpos = (uint32_t)it.pos;
                f->dcookie = d.off;
                rc = 1;
                goto out;
            }
            if (rc < 0)
                goto out;
            f->dpos = f->dlen;
        }
        if (f->deof || f->deof_after) { /* the buffer is used up */
            rc = 0;
            goto out;
        }
        rc = dir_fill(f); /* blocks */
        if (rc < 0)
            goto out;
    }
out:
    op_done(f);
    return rc;
}
