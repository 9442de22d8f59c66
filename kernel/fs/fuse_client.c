/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * FUSE client: node operations over a struct fuse_conn. See fuse_client.h.
 * Also the session start (fuse_conn_init).
 */
#include "fs/fuse_client.h"

#include <errno.h>
#include <string.h>

/* Largest request we build on the stack: header, the biggest op struct
 * (setattr), two names with their NULs. */
#define REQ_MAX \
    (sizeof(struct fuse_in_header) + sizeof(struct fuse_setattr_in) + 2 * (FUSE_NAME_MAX + 1))
/* Largest fixed-size reply: header + entry_out + open_out (CREATE). */
#define REPLY_MAX \
    (sizeof(struct fuse_out_header) + sizeof(struct fuse_entry_out) + sizeof(struct fuse_open_out))

/* 8-byte aligned stack buffers: the transport may hand them to a device. */
union req_buf {
    uint8_t b[REQ_MAX];
    uint64_t align;
};
union reply_buf {
    uint8_t b[REPLY_MAX];
    uint64_t align;
};

/*
 * Sends the len-byte request in req and checks the reply written into
 * reply (cap bytes). Returns 0 with *r filled (r->error may be non-zero),
 * or a transport or -EPROTO error.
 */
static int roundtrip(struct fuse_conn *c, void *req, int len, uint32_t opcode, uint64_t unique,
                     void *reply, uint32_t cap, struct fuse_reply *r)
{
    struct iobuf out = {.addr = req, .len = (uint32_t)len};
    struct iobuf in = {.addr = reply, .len = cap};
    int n;

    if (len < 0)
        return len; /* the builder's error: nothing was sent */
    n = c->call(c, &out, 1, &in, 1);
    if (n < 0)
        return n;
    if ((uint32_t)n > cap)
        return -EPROTO; /* more than the buffer: never read past it */
    return fuse_reply_check(r, reply, (size_t)n, opcode, unique, 0);
}

/* roundtrip() for requests whose success reply has no body we need. */
static int simple(struct fuse_conn *c, void *req, int len, uint32_t opcode, uint64_t unique)
{
    union reply_buf rb;
    struct fuse_reply r;
    int rc = roundtrip(c, req, len, opcode, unique, rb.b, sizeof(rb.b), &r);

    return rc < 0 ? rc : r.error;
}

/* ------------------------------------------------------------------ session */

int fuse_conn_init(struct fuse_conn *c)
{
    union req_buf q;
    union reply_buf rb;
    struct fuse_reply r;
    struct fuse_session_params p;
    uint64_t u = fuse_conn_unique(c);
    int rc;

    rc = roundtrip(c, q.b, fuse_build_init(q.b, sizeof(q.b), u), FUSE_INIT, u, rb.b,
                   sizeof(struct fuse_out_header) + sizeof(struct fuse_init_out), &r);
    if (rc < 0)
        return rc;
    if (r.error)
        return r.error;
    rc = fuse_parse_init(&r, &p);
    if (rc < 0)
        return rc;
    c->params = p;
    return 0;
}

/* ------------------------------------------------------------------ names */

int fuse_lookup(struct fuse_conn *c, uint64_t parent, const char *name, struct fuse_entry_info *e)
{
    union req_buf q;
    union reply_buf rb;
    struct fuse_reply r;
    uint64_t u = fuse_conn_unique(c);
    int rc;

    memset(e, 0, sizeof(*e));
    rc = roundtrip(c, q.b, fuse_build_lookup(q.b, sizeof(q.b), u, parent, name), FUSE_LOOKUP, u,
                   rb.b, sizeof(rb.b), &r);
    if (rc < 0)
        return rc;
    if (r.error)
        return r.error;
    rc = fuse_parse_entry(&r, e);
    if (rc == -EPROTO && e->nodeid != 0)
        (void)fuse_forget(c, e->nodeid, 1); /* the server counted it */
    return rc;
}

int fuse_forget(struct fuse_conn *c, uint64_t nodeid, uint64_t nlookup)
{
    union req_buf q;
    struct iobuf out;
    int len;

    if (nlookup == 0)
        return 0;
    len = fuse_build_forget(q.b, sizeof(q.b), fuse_conn_unique(c), nodeid, nlookup);
    if (len < 0)
        return len;
    out.addr = q.b;
    out.len = (uint32_t)len;
    return c->send_noreply(c, &out, 1);
}

int fuse_mkdir(struct fuse_conn *c, uint64_t parent, const char *name, uint32_t mode,
               uint32_t umask, struct fuse_entry_info *e)
{
    union req_buf q;
    union reply_buf rb;
    struct fuse_reply r;
    uint64_t u = fuse_conn_unique(c);
    int rc;

    memset(e, 0, sizeof(*e));
    rc = roundtrip(c, q.b, fuse_build_mkdir(q.b, sizeof(q.b), u, parent, name, mode, umask),
                   FUSE_MKDIR, u, rb.b, sizeof(rb.b), &r);
    if (rc < 0)
        return rc;
    if (r.error)
        return r.error;
    rc = fuse_parse_entry(&r, e);
    if (rc == -EPROTO && e->nodeid != 0)
        (void)fuse_forget(c, e->nodeid, 1);
    return rc;
}

int fuse_unlink(struct fuse_conn *c, uint64_t parent, const char *name, bool dir)
{
    union req_buf q;
    uint64_t u = fuse_conn_unique(c);

    return simple(c, q.b, fuse_build_unlink(q.b, sizeof(q.b), u, parent, name, dir),
                  dir ? FUSE_RMDIR : FUSE_UNLINK, u);
}

int fuse_rename(struct fuse_conn *c, uint64_t olddir, const char *oldname, uint64_t newdir,
                const char *newname)
{
    union req_buf q;
    uint64_t u = fuse_conn_unique(c);

    return simple(c, q.b, fuse_build_rename(q.b, sizeof(q.b), u, olddir, oldname, newdir, newname),
                  FUSE_RENAME, u);
}

/* ------------------------------------------------------------------ attributes */

int fuse_getattr(struct fuse_conn *c, uint64_t nodeid, bool has_fh, uint64_t fh,
                 struct fuse_attr_info *a, uint64_t *attr_ttl_ns)
{
    union req_buf q;
    union reply_buf rb;
    struct fuse_reply r;
    uint64_t u = fuse_conn_unique(c);
    int rc;

    memset(a, 0, sizeof(*a));
    *attr_ttl_ns = 0;
    rc = roundtrip(c, q.b, fuse_build_getattr(q.b, sizeof(q.b), u, nodeid, has_fh, fh),
                   FUSE_GETATTR, u, rb.b, sizeof(rb.b), &r);
    if (rc < 0)
        return rc;
    if (r.error)
        return r.error;
    return fuse_parse_attr(&r, a, attr_ttl_ns);
}

int fuse_setattr(struct fuse_conn *c, uint64_t nodeid, const struct fuse_setattr_in *in,
                 struct fuse_attr_info *a, uint64_t *attr_ttl_ns)
{
    union req_buf q;
    union reply_buf rb;
    struct fuse_reply r;
    uint64_t u = fuse_conn_unique(c);
    int rc;

    rc = roundtrip(c, q.b, fuse_build_setattr(q.b, sizeof(q.b), u, nodeid, in), FUSE_SETATTR, u,
                   rb.b, sizeof(rb.b), &r);
    if (rc < 0)
        return rc;
    if (r.error)
        return r.error;
    return fuse_parse_attr(&r, a, attr_ttl_ns);
}

int fuse_statfs(struct fuse_conn *c, uint64_t nodeid, struct fuse_statfs_info *s)
{
    union req_buf q;
    union reply_buf rb;
    struct fuse_reply r;
    uint64_t u = fuse_conn_unique(c);
    int rc;

    rc = roundtrip(c, q.b, fuse_build_statfs(q.b, sizeof(q.b), u, nodeid), FUSE_STATFS, u, rb.b,
                   sizeof(rb.b), &r);
    if (rc < 0)
        return rc;
    if (r.error)
        return r.error;
    return fuse_parse_statfs(&r, s);
}

/* ------------------------------------------------------------------ open files */

int fuse_open(struct fuse_conn *c, uint64_t nodeid, uint32_t flags, bool dir,
              struct fuse_open_info *o)
{
    union req_buf q;
    union reply_buf rb;
    struct fuse_reply r;
    uint64_t u = fuse_conn_unique(c);
    int rc;

    memset(o, 0, sizeof(*o));
    rc = roundtrip(c, q.b, fuse_build_open(q.b, sizeof(q.b), u, nodeid, flags, dir),
                   dir ? FUSE_OPENDIR : FUSE_OPEN, u, rb.b, sizeof(rb.b), &r);
    if (rc < 0)
        return rc;
    if (r.error)
        return r.error;
    return fuse_parse_open(&r, o);
}

int fuse_create(struct fuse_conn *c, uint64_t parent, const char *name, uint32_t flags,
                uint32_t mode, uint32_t umask, struct fuse_entry_info *e, struct fuse_open_info *o)
{
    union req_buf q;
    union reply_buf rb;
    struct fuse_reply r;
    uint64_t u = fuse_conn_unique(c);
    int rc;

    memset(e, 0, sizeof(*e));
    memset(o, 0, sizeof(*o));
    rc = roundtrip(c, q.b, fuse_build_create(q.b, sizeof(q.b), u, parent, name, flags, mode, umask),
                   FUSE_CREATE, u, rb.b, sizeof(rb.b), &r);
    if (rc < 0)
        return rc;
    if (r.error)
        return r.error;
    rc = fuse_parse_create(&r, e, o);
    if (rc == -EPROTO && e->nodeid != 0) {
        /* The server opened and counted a node we cannot use: undo both. */
        (void)fuse_release(c, e->nodeid, o->fh, flags, false);
        (void)fuse_forget(c, e->nodeid, 1);
    }
    return rc;
}

int fuse_flush(struct fuse_conn *c, uint64_t nodeid, uint64_t fh)
{
    union req_buf q;
    uint64_t u = fuse_conn_unique(c);

    return simple(c, q.b, fuse_build_flush(q.b, sizeof(q.b), u, nodeid, fh), FUSE_FLUSH, u);
}

int fuse_fsync(struct fuse_conn *c, uint64_t nodeid, uint64_t fh, bool datasync, bool dir)
{
    union req_buf q;
    uint64_t u = fuse_conn_unique(c);

    return simple(c, q.b, fuse_build_fsync(q.b, sizeof(q.b), u, nodeid, fh, datasync, dir),
                  dir ? FUSE_FSYNCDIR : FUSE_FSYNC, u);
}

int fuse_release(struct fuse_conn *c, uint64_t nodeid, uint64_t fh, uint32_t flags, bool dir)
{
    union req_buf q;
    uint64_t u = fuse_conn_unique(c);

    return simple(c, q.b, fuse_build_release(q.b, sizeof(q.b), u, nodeid, fh, flags, dir),
                  dir ? FUSE_RELEASEDIR : FUSE_RELEASE, u);
}

/* ------------------------------------------------------------------ data */

/*
 * One READ/READDIR/READDIRPLUS request of size bytes, the reply body going
 * straight into buf. Returns the body length or a negative errno.
 */
static int read_once(struct fuse_conn *c, uint32_t opcode, uint64_t nodeid, uint64_t fh,
                     uint64_t offset, void *buf, uint32_t size)
{
    union req_buf q;
    struct fuse_out_header oh;
    struct fuse_reply r;
    struct iobuf out, in[2];
    uint64_t u = fuse_conn_unique(c);
    int len, n, rc;

    len = fuse_build_read(q.b, sizeof(q.b), u, opcode, nodeid, fh, offset, size);
    if (len < 0)
        return len;
    out.addr = q.b;
    out.len = (uint32_t)len;
    in[0].addr = &oh;
    in[0].len = sizeof(oh);
    in[1].addr = buf;
    in[1].len = size;
    n = c->call(c, &out, 1, in, 2);
    if (n < 0)
        return n;
    rc = fuse_reply_check_split(&r, &oh, buf, size, (size_t)n, opcode, u, size);
    if (rc < 0)
        return rc;
    if (r.error)
        return r.error;
    return (int)r.body_len;
}

int64_t fuse_read(struct fuse_conn *c, uint64_t nodeid, uint64_t fh, uint64_t offset, void *buf,
                  size_t len)
{
    uint8_t *p = buf;
    size_t done = 0;

    if (c->params.max_read == 0)
        return -EINVAL; /* the session was not started */
    while (done < len) {
        size_t left = len - done;
        uint32_t chunk = left < c->params.max_read ? (uint32_t)left : c->params.max_read;
        int n = read_once(c, FUSE_READ, nodeid, fh, offset + done, p + done, chunk);

        if (n < 0)
            return done ? (int64_t)done : n;
        done += (uint32_t)n;
        if ((uint32_t)n < chunk)
            break; /* end of file (or the server gives no more for now) */
    }
    return (int64_t)done;
}

int fuse_readdir(struct fuse_conn *c, uint64_t nodeid, uint64_t fh, uint64_t offset, bool plus,
                 void *buf, uint32_t cap)
{
    if (cap > c->params.max_read)
        cap = c->params.max_read;
    if (cap == 0)
        return -EINVAL;
    return read_once(c, plus ? FUSE_READDIRPLUS : FUSE_READDIR, nodeid, fh, offset, buf, cap);
}

/* One WRITE of size bytes from data. Returns the bytes written or -errno. */
static int write_once(struct fuse_conn *c, uint64_t nodeid, uint64_t fh, uint64_t offset,
                      const void *data, uint32_t size)
{
    union req_buf q;
    union reply_buf rb;
    struct fuse_reply r;
    struct iobuf out[2], in;
    uint64_t u = fuse_conn_unique(c);
    uint32_t written;
    int len, n, rc;

    len = fuse_build_write(q.b, sizeof(q.b), u, nodeid, fh, offset, size);
    if (len < 0)
        return len;
    out[0].addr = q.b;
    out[0].len = (uint32_t)len;
    out[1].addr = (void *)(uintptr_t)data; /* device-readable: never written */
    out[1].len = size;
    in.addr = rb.b;
    in.len = sizeof(struct fuse_out_header) + sizeof(struct fuse_write_out);
    n = c->call(c, out, 2, &in, 1);
    if (n < 0)
        return n;
    if ((uint32_t)n > in.len)
        return -EPROTO;
    rc = fuse_reply_check(&r, rb.b, (size_t)n, FUSE_WRITE, u, 0);
    if (rc < 0)
        return rc;
    if (r.error)
        return r.error;
    rc = fuse_parse_write(&r, size, &written);
    return rc < 0 ? rc : (int)written;
}

int64_t fuse_write(struct fuse_conn *c, uint64_t nodeid, uint64_t fh, uint64_t offset,
                   const void *buf, size_t len)
{
    const uint8_t *p = buf;
    size_t done = 0;

    if (c->params.max_write == 0)
        return -EINVAL; /* the session was not started */
    while (done < len) {
        size_t left = len - done;
        uint32_t chunk = left < c->params.max_write ? (uint32_t)left : c->params.max_write;
        int n = write_once(c, nodeid, fh, offset + done, p + done, chunk);

        if (n < 0)
            return done ? (int64_t)done : n;
        done += (uint32_t)n;
        if ((uint32_t)n < chunk)
            break;
    }
    return (int64_t)done;
}
