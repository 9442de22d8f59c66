/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * FUSE message layer: request building and reply parsing. See fuse_msg.h
 * for the contract. Every field of a reply is copied out with memcpy before
 * it is looked at, so no alignment is assumed and nothing is read twice.
 */
#include "fs/fuse_msg.h"

#include <errno.h>
#include <string.h>

#define NSEC_PER_SEC 1000000000u

/* ------------------------------------------------------------------ building */

/* Checks a name component: 1..FUSE_NAME_MAX bytes, no '/'. Returns its length. */
static int name_check(const char *name)
{
    size_t n;

    if (!name)
        return -EINVAL;
    n = strnlen(name, FUSE_NAME_MAX + 1);
    if (n > FUSE_NAME_MAX)
        return -ENAMETOOLONG;
    if (n == 0 || memchr(name, '/', n))
        return -EINVAL;
    return (int)n;
}

/*
 * Writes header + arg (arglen bytes) + up to two names with their NULs.
 * extra: bytes the caller appends after what we write (WRITE data); they
 * count in the header's len.
 */
static int build(void *buf, size_t cap, uint32_t opcode, uint64_t unique, uint64_t nodeid,
                 const void *arg, size_t arglen, const char *name1, const char *name2,
                 uint32_t extra)
{
    struct fuse_in_header h;
    int n1 = 0, n2 = 0;
    size_t total;
    uint8_t *p = buf;

    if (unique == 0)
        return -EINVAL;
    if (name1 && (n1 = name_check(name1)) < 0)
        return n1;
    if (name2 && (n2 = name_check(name2)) < 0)
        return n2;
    total = sizeof(h) + arglen + (name1 ? (size_t)n1 + 1 : 0) + (name2 ? (size_t)n2 + 1 : 0);
    if (total + extra > UINT32_MAX)
        return -EINVAL;
    if (!buf || total > cap)
        return -ENOBUFS;

    memset(&h, 0, sizeof(h));
    h.len = (uint32_t)(total + extra);
    h.opcode = opcode;
    h.unique = unique;
    h.nodeid = nodeid;
    memcpy(p, &h, sizeof(h));
    p += sizeof(h);
    if (arglen) {
        memcpy(p, arg, arglen);
        p += arglen;
    }
    if (name1) {
        memcpy(p, name1, (size_t)n1 + 1);
        p += n1 + 1;
    }
    if (name2)
        memcpy(p, name2, (size_t)n2 + 1);
    return (int)total;
}

int fuse_build_init(void *buf, size_t cap, uint64_t unique)
{
    struct fuse_init_in in;

    memset(&in, 0, sizeof(in));
    in.major = FUSE_KERNEL_VERSION;
    in.minor = FUSE_MSG_MINOR;
    in.max_readahead = FUSE_MSG_MAX_READAHEAD;
    in.flags = FUSE_MSG_INIT_FLAGS;
    return build(buf, cap, FUSE_INIT, unique, 0, &in, sizeof(in), NULL, NULL, 0);
}

int fuse_build_lookup(void *buf, size_t cap, uint64_t unique, uint64_t parent, const char *name)
{
    if (!name)
        return -EINVAL;
    return build(buf, cap, FUSE_LOOKUP, unique, parent, NULL, 0, name, NULL, 0);
}

int fuse_build_forget(void *buf, size_t cap, uint64_t unique, uint64_t nodeid, uint64_t nlookup)
{
    struct fuse_forget_in in = {.nlookup = nlookup};

    return build(buf, cap, FUSE_FORGET, unique, nodeid, &in, sizeof(in), NULL, NULL, 0);
}

int fuse_build_getattr(void *buf, size_t cap, uint64_t unique, uint64_t nodeid, bool has_fh,
                       uint64_t fh)
{
    struct fuse_getattr_in in;

    memset(&in, 0, sizeof(in));
    if (has_fh) {
        in.getattr_flags = FUSE_GETATTR_FH;
        in.fh = fh;
    }
    return build(buf, cap, FUSE_GETATTR, unique, nodeid, &in, sizeof(in), NULL, NULL, 0);
}

int fuse_build_setattr(void *buf, size_t cap, uint64_t unique, uint64_t nodeid,
                       const struct fuse_setattr_in *in)
{
    if (!in)
        return -EINVAL;
    return build(buf, cap, FUSE_SETATTR, unique, nodeid, in, sizeof(*in), NULL, NULL, 0);
}

int fuse_build_open(void *buf, size_t cap, uint64_t unique, uint64_t nodeid, uint32_t flags,
                    bool dir)
{
    struct fuse_open_in in = {.flags = flags, .open_flags = 0};

    return build(buf, cap, dir ? FUSE_OPENDIR : FUSE_OPEN, unique, nodeid, &in, sizeof(in), NULL,
                 NULL, 0);
}

int fuse_build_create(void *buf, size_t cap, uint64_t unique, uint64_t parent, const char *name,
                      uint32_t flags, uint32_t mode, uint32_t umask)
{
    struct fuse_create_in in = {.flags = flags, .mode = mode, .umask = umask, .open_flags = 0};

    if (!name)
        return -EINVAL;
    return build(buf, cap, FUSE_CREATE, unique, parent, &in, sizeof(in), name, NULL, 0);
}

int fuse_build_mkdir(void *buf, size_t cap, uint64_t unique, uint64_t parent, const char *name,
                     uint32_t mode, uint32_t umask)
{
    struct fuse_mkdir_in in = {.mode = mode, .umask = umask};

    if (!name)
        return -EINVAL;
    return build(buf, cap, FUSE_MKDIR, unique, parent, &in, sizeof(in), name, NULL, 0);
}

int fuse_build_unlink(void *buf, size_t cap, uint64_t unique, uint64_t parent, const char *name,
                      bool dir)
{
    if (!name)
        return -EINVAL;
    return build(buf, cap, dir ? FUSE_RMDIR : FUSE_UNLINK, unique, parent, NULL, 0, name, NULL, 0);
}

int fuse_build_rename(void *buf, size_t cap, uint64_t unique, uint64_t olddir, const char *oldname,
                      uint64_t newdir, const char *newname)
{
    struct fuse_rename_in in = {.newdir = newdir};

    if (!oldname || !newname)
        return -EINVAL;
    return build(buf, cap, FUSE_RENAME, unique, olddir, &in, sizeof(in), oldname, newname, 0);
}

int fuse_build_read(void *buf, size_t cap, uint64_t unique, uint32_t opcode, uint64_t nodeid,
                    uint64_t fh, uint64_t offset, uint32_t size)
{
    struct fuse_read_in in;

    if (opcode != FUSE_READ && opcode != FUSE_READDIR && opcode != FUSE_READDIRPLUS)
        return -EINVAL;
    memset(&in, 0, sizeof(in));
    in.fh = fh;
    in.offset = offset;
    in.size = size;
    return build(buf, cap, opcode, unique, nodeid, &in, sizeof(in), NULL, NULL, 0);
}

int fuse_build_write(void *buf, size_t cap, uint64_t unique, uint64_t nodeid, uint64_t fh,
                     uint64_t offset, uint32_t size)
{
    struct fuse_write_in in;

    if (size == 0)
        return -EINVAL;
    memset(&in, 0, sizeof(in));
    in.fh = fh;
    in.offset = offset;
    in.size = size;
    return build(buf, cap, FUSE_WRITE, unique, nodeid, &in, sizeof(in), NULL, NULL, size);
}

int fuse_build_release(void *buf, size_t cap, uint64_t unique, uint64_t nodeid, uint64_t fh,
                       uint32_t flags, bool dir)
{
    struct fuse_release_in in;

    memset(&in, 0, sizeof(in));
    in.fh = fh;
    in.flags = flags;
    return build(buf, cap, dir ? FUSE_RELEASEDIR : FUSE_RELEASE, unique, nodeid, &in, sizeof(in),
                 NULL, NULL, 0);
}

int fuse_build_flush(void *buf, size_t cap, uint64_t unique, uint64_t nodeid, uint64_t fh)
{
    struct fuse_flush_in in;

    memset(&in, 0, sizeof(in));
    in.fh = fh;
    return build(buf, cap, FUSE_FLUSH, unique, nodeid, &in, sizeof(in), NULL, NULL, 0);
}

int fuse_build_fsync(void *buf, size_t cap, uint64_t unique, uint64_t nodeid, uint64_t fh,
                     bool datasync, bool dir)
{
    struct fuse_fsync_in in;

    memset(&in, 0, sizeof(in));
    in.fh = fh;
    in.fsync_flags = datasync ? FUSE_FSYNC_FDATASYNC : 0;
    return build(buf, cap, dir ? FUSE_FSYNCDIR : FUSE_FSYNC, unique, nodeid, &in, sizeof(in), NULL,
                 NULL, 0);
}

int fuse_build_statfs(void *buf, size_t cap, uint64_t unique, uint64_t nodeid)
{
    return build(buf, cap, FUSE_STATFS, unique, nodeid, NULL, 0, NULL, NULL, 0);
}

/* ------------------------------------------------------------------ reply check */

/* init_out size implied by a protocol minor (of a major-7 reply). */
static uint32_t init_out_size(uint32_t minor)
{
    if (minor < 5)
        return FUSE_COMPAT_INIT_OUT_SIZE;
    if (minor < 23)
        return FUSE_COMPAT_22_INIT_OUT_SIZE;
    return sizeof(struct fuse_init_out);
}

/* Body size rule for a successful reply: [min, max]; -EINVAL for no reply. */
static int body_rule(uint32_t opcode, uint32_t read_size, uint32_t *min, uint32_t *max)
{
    uint32_t exact;

    switch (opcode) {
    case FUSE_LOOKUP:
    case FUSE_MKDIR:
        exact = sizeof(struct fuse_entry_out);
        break;
    case FUSE_CREATE:
        exact = sizeof(struct fuse_entry_out) + sizeof(struct fuse_open_out);
        break;
    case FUSE_GETATTR:
    case FUSE_SETATTR:
        exact = sizeof(struct fuse_attr_out);
        break;
    case FUSE_OPEN:
    case FUSE_OPENDIR:
        exact = sizeof(struct fuse_open_out);
        break;
    case FUSE_WRITE:
        exact = sizeof(struct fuse_write_out);
        break;
    case FUSE_STATFS:
        exact = sizeof(struct fuse_statfs_out);
        break;
    case FUSE_UNLINK:
    case FUSE_RMDIR:
    case FUSE_RENAME:
    case FUSE_RELEASE:
    case FUSE_RELEASEDIR:
    case FUSE_FLUSH:
    case FUSE_FSYNC:
    case FUSE_FSYNCDIR:
        exact = 0;
        break;
    case FUSE_READ:
    case FUSE_READDIR:
    case FUSE_READDIRPLUS:
        *min = 0;
        *max = read_size;
        return 0;
    case FUSE_INIT: /* the exact size depends on the minor in the body */
        *min = FUSE_COMPAT_INIT_OUT_SIZE;
        *max = sizeof(struct fuse_init_out);
        return 0;
    default: /* FORGET and friends have no reply; others we never send */
        return -EINVAL;
    }
    *min = *max = exact;
    return 0;
}

int fuse_reply_check_split(struct fuse_reply *r, const void *hdr, const void *body, size_t body_cap,
                           size_t written, uint32_t opcode, uint64_t unique, uint32_t read_size)
{
    struct fuse_out_header oh;
    uint32_t min, max, body_len;

    memset(r, 0, sizeof(*r));
    if (body_rule(opcode, read_size, &min, &max) < 0 || (body_cap && !body))
        return -EINVAL;
    if (!hdr || written < sizeof(oh) || written - sizeof(oh) > body_cap)
        return -EPROTO;
    memcpy(&oh, hdr, sizeof(oh));
    if (oh.len != written || oh.unique != unique)
        return -EPROTO;
    if (oh.error > 0 || oh.error < -FUSE_MSG_MAX_ERRNO)
        return -EPROTO;
    body_len = (uint32_t)(written - sizeof(oh));
    if (oh.error != 0) {
        if (body_len != 0) /* error replies carry only the header */
            return -EPROTO;
    } else {
        if (body_len < min || body_len > max)
            return -EPROTO;
        if (opcode == FUSE_INIT) {
            struct fuse_init_out io;

            memcpy(&io, body, FUSE_COMPAT_INIT_OUT_SIZE); /* major, minor */
            if (io.major == FUSE_KERNEL_VERSION &&
                body_len != init_out_size(io.minor < FUSE_MSG_MINOR ? io.minor : FUSE_MSG_MINOR))
                return -EPROTO;
        }
    }
    r->opcode = opcode;
    r->error = oh.error;
    r->body = body_len ? body : NULL;
    r->body_len = body_len;
    return 0;
}

int fuse_reply_check(struct fuse_reply *r, const void *buf, size_t written, uint32_t opcode,
                     uint64_t unique, uint32_t read_size)
{
    size_t hdr = sizeof(struct fuse_out_header);
    size_t body_cap = written > hdr ? written - hdr : 0;

    return fuse_reply_check_split(r, buf, buf ? (const uint8_t *)buf + hdr : NULL, body_cap,
                                  written, opcode, unique, read_size);
}

/* ------------------------------------------------------------------ typed parsers */

/* Not inlined: its two inlined copies cost the image 80 B more. */
__attribute__((noinline)) uint64_t fuse_ttl_ns(uint64_t sec, uint32_t nsec)
{
    if (nsec >= NSEC_PER_SEC)
        nsec = NSEC_PER_SEC - 1;
    if (sec > (UINT64_MAX - nsec) / NSEC_PER_SEC)
        return UINT64_MAX;
    return sec * NSEC_PER_SEC + nsec;
}

uint64_t fuse_deadline_ns(uint64_t now_ns, uint64_t sec, uint32_t nsec)
{
    uint64_t ttl = fuse_ttl_ns(sec, nsec);

    return ttl > UINT64_MAX - now_ns ? UINT64_MAX : now_ns + ttl;
}

static bool mode_type_valid(uint32_t mode)
{
    switch (mode & FUSE_S_IFMT) {
    case FUSE_S_IFREG:
    case FUSE_S_IFDIR:
    case FUSE_S_IFLNK:
    case FUSE_S_IFCHR:
    case FUSE_S_IFBLK:
    case FUSE_S_IFIFO:
    case FUSE_S_IFSOCK:
        return true;
    default:
        return false;
    }
}

static uint32_t clamp_nsec(uint32_t nsec)
{
    return nsec < NSEC_PER_SEC ? nsec : NSEC_PER_SEC - 1;
}

/* Wire attributes → trusted ones; -EPROTO if they make no sense. */
static int attr_from_wire(const struct fuse_attr *w, struct fuse_attr_info *a)
{
    if (!mode_type_valid(w->mode) || w->size > (uint64_t)INT64_MAX)
        return -EPROTO;
    a->ino = w->ino;
    a->size = w->size;
    a->blocks = w->blocks;
    a->atime = (int64_t)w->atime;
    a->mtime = (int64_t)w->mtime;
    a->ctime = (int64_t)w->ctime;
    a->atime_nsec = clamp_nsec(w->atimensec);
    a->mtime_nsec = clamp_nsec(w->mtimensec);
    a->ctime_nsec = clamp_nsec(w->ctimensec);
    a->mode = w->mode;
    a->nlink = w->nlink;
    a->uid = w->uid;
    a->gid = w->gid;
    a->rdev = w->rdev;
    a->blksize = w->blksize;
    return 0;
}

/* entry_out → trusted entry. want_type: FUSE_S_IF* the node must have, or 0. */
static int entry_from_wire(const void *p, struct fuse_entry_info *e, bool negative_ok,
                           uint32_t want_type)
{
    struct fuse_entry_out w;

    memcpy(&w, p, sizeof(w));
    memset(e, 0, sizeof(*e));
    e->nodeid = w.nodeid;
    e->generation = w.generation;
    e->entry_ttl_ns = fuse_ttl_ns(w.entry_valid, w.entry_valid_nsec);
    e->attr_ttl_ns = fuse_ttl_ns(w.attr_valid, w.attr_valid_nsec);
    if (w.nodeid == 0)
        return negative_ok ? -ENOENT : -EPROTO;
    if (attr_from_wire(&w.attr, &e->attr) < 0)
        return -EPROTO;
    if (want_type && (e->attr.mode & FUSE_S_IFMT) != want_type)
        return -EPROTO;
    return 0;
}

static bool reply_ok(const struct fuse_reply *r, uint32_t op1, uint32_t op2, uint32_t len)
{
    return r && r->error == 0 && (r->opcode == op1 || r->opcode == op2) && r->body_len == len &&
           r->body;
}

int fuse_parse_entry(const struct fuse_reply *r, struct fuse_entry_info *e)
{
    if (!reply_ok(r, FUSE_LOOKUP, FUSE_MKDIR, sizeof(struct fuse_entry_out)))
        return -EINVAL;
    if (r->opcode == FUSE_MKDIR)
        return entry_from_wire(r->body, e, false, FUSE_S_IFDIR);
    return entry_from_wire(r->body, e, true, 0);
}

int fuse_parse_create(const struct fuse_reply *r, struct fuse_entry_info *e,
                      struct fuse_open_info *o)
{
    struct fuse_open_out w;
    int rc;

    if (!reply_ok(r, FUSE_CREATE, FUSE_CREATE,
                  sizeof(struct fuse_entry_out) + sizeof(struct fuse_open_out)))
        return -EINVAL;
    rc = entry_from_wire(r->body, e, false, FUSE_S_IFREG);
    memcpy(&w, (const uint8_t *)r->body + sizeof(struct fuse_entry_out), sizeof(w));
    o->fh = w.fh;
    o->open_flags = w.open_flags;
    return rc;
}

int fuse_parse_attr(const struct fuse_reply *r, struct fuse_attr_info *a, uint64_t *attr_ttl_ns)
{
    struct fuse_attr_out w;

    if (!reply_ok(r, FUSE_GETATTR, FUSE_SETATTR, sizeof(w)))
        return -EINVAL;
    memcpy(&w, r->body, sizeof(w));
    *attr_ttl_ns = fuse_ttl_ns(w.attr_valid, w.attr_valid_nsec);
    return attr_from_wire(&w.attr, a);
}

int fuse_parse_open(const struct fuse_reply *r, struct fuse_open_info *o)
{
    struct fuse_open_out w;

    if (!reply_ok(r, FUSE_OPEN, FUSE_OPENDIR, sizeof(w)))
        return -EINVAL;
    memcpy(&w, r->body, sizeof(w));
    o->fh = w.fh;
    o->open_flags = w.open_flags;
    return 0;
}

int fuse_parse_write(const struct fuse_reply *r, uint32_t requested, uint32_t *written)
{
    struct fuse_write_out w;

    if (!reply_ok(r, FUSE_WRITE, FUSE_WRITE, sizeof(w)))
        return -EINVAL;
    memcpy(&w, r->body, sizeof(w));
    if (w.size > requested)
        return -EPROTO;
    *written = w.size;
    return 0;
}

int fuse_parse_statfs(const struct fuse_reply *r, struct fuse_statfs_info *s)
{
    struct fuse_statfs_out w;

    if (!reply_ok(r, FUSE_STATFS, FUSE_STATFS, sizeof(w)))
        return -EINVAL;
    memcpy(&w, r->body, sizeof(w));
    s->blocks = w.st.blocks;
    s->bfree = w.st.bfree;
    s->bavail = w.st.bavail;
    s->files = w.st.files;
    s->ffree = w.st.ffree;
    s->bsize = w.st.bsize;
    s->namelen = w.st.namelen;
    s->frsize = w.st.frsize;
    return 0;
}

static uint32_t clamp_u32(uint32_t v, uint32_t lo, uint32_t hi)
{
    return v < lo ? lo : v > hi ? hi : v;
}

int fuse_parse_init(const struct fuse_reply *r, struct fuse_session_params *s)
{
    struct fuse_init_out w;

    if (!r || r->error != 0 || r->opcode != FUSE_INIT || !r->body ||
        r->body_len < FUSE_COMPAT_INIT_OUT_SIZE || r->body_len > sizeof(w))
        return -EINVAL;
    memset(&w, 0, sizeof(w));
    memcpy(&w, r->body, r->body_len);
    if (w.major != FUSE_KERNEL_VERSION || w.minor < FUSE_MSG_MIN_MINOR)
        return -EPROTONOSUPPORT;
    memset(s, 0, sizeof(*s));
    s->minor = w.minor < FUSE_MSG_MINOR ? w.minor : FUSE_MSG_MINOR;
    if (r->body_len != init_out_size(s->minor))
        return -EPROTO;
    s->flags = w.flags & FUSE_MSG_INIT_FLAGS;
    if (s->minor < 28)
        s->flags &= ~FUSE_MAX_PAGES; /* max_pages did not exist yet */
    if (s->flags & FUSE_MAX_PAGES)
        s->max_pages = clamp_u32(w.max_pages, 1, FUSE_MSG_MAX_PAGES);
    else
        s->max_pages = FUSE_MSG_DEFAULT_MAX_PAGES;
    s->max_read = s->max_pages * FUSE_MSG_PAGE_SIZE;
    s->max_write = clamp_u32(w.max_write, FUSE_MSG_PAGE_SIZE, s->max_read);
    s->max_readahead =
        w.max_readahead < FUSE_MSG_MAX_READAHEAD ? w.max_readahead : FUSE_MSG_MAX_READAHEAD;
    s->time_gran =
        (s->minor >= 23 && w.time_gran >= 1 && w.time_gran <= NSEC_PER_SEC) ? w.time_gran : 1;
    s->max_background = w.max_background ? w.max_background : 12;
    return 0;
}

/* ------------------------------------------------------------------ directory records */

void fuse_dirent_iter_init(struct fuse_dirent_iter *it, const void *body, size_t len, bool plus)
{
    it->buf = body;
    it->len = body ? len : 0;
    it->pos = 0;
    it->plus = plus;
    it->failed = false;
}

int fuse_dirent_next(struct fuse_dirent_iter *it, struct fuse_dirent_info *d)
{
    size_t hdr = it->plus ? FUSE_DIRENTPLUS_NAME_OFFSET : FUSE_DIRENT_NAME_OFFSET;
    size_t left, reclen;
    const uint8_t *rec;
    struct fuse_dirent de;

    if (it->failed)
        return -EPROTO;
    if (it->pos == it->len)
        return 0;
    left = it->len - it->pos;
    rec = it->buf + it->pos;
    if (left < hdr)
        goto err_proto;
    memcpy(&de, rec + hdr - FUSE_DIRENT_NAME_OFFSET, sizeof(de));
    if (de.namelen == 0 || de.namelen > FUSE_NAME_MAX || de.type > 15)
        goto err_proto;
    reclen = FUSE_REC_ALIGN(hdr + de.namelen);
    if (reclen > left)
        goto err_proto;
    if (memchr(rec + hdr, '/', de.namelen) || memchr(rec + hdr, '\0', de.namelen))
        goto err_proto;

    memset(d, 0, sizeof(*d));
    d->ino = de.ino;
    d->off = de.off;
    d->type = de.type;
    d->name = (const char *)rec + hdr;
    d->namelen = de.namelen;
    if (it->plus) {
        int rc = entry_from_wire(rec, &d->entry, true, 0);

        if (rc == 0)
            d->has_entry = true;
        else if (rc != -ENOENT)
            goto err_proto;
    }
    it->pos += reclen;
    return 1;

err_proto:
    it->failed = true;
    return -EPROTO;
}
