/* SPDX-License-Identifier: BSD-2-Clause */
/* Fake FUSE server: see fuse_fake.h. Deliberately independent of fuse_msg. */
#include "fuse_fake.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define ROOT 1

/* ------------------------------------------------------------------ tree */

static uint64_t node_add(struct fake_fs *fs, uint64_t parent, const char *name, uint32_t mode)
{
    struct fake_node *n;

    if (fs->n_nodes == fs->cap_nodes) {
        fs->cap_nodes = fs->cap_nodes ? fs->cap_nodes * 2 : 64;
        fs->nodes = realloc(fs->nodes, fs->cap_nodes * sizeof(*fs->nodes));
    }
    n = &fs->nodes[fs->n_nodes++];
    memset(n, 0, sizeof(*n));
    n->used = true;
    n->parent = parent;
    strncpy(n->name, name, FUSE_NAME_MAX);
    n->mode = mode;
    n->mtime = (int64_t)(fs->now_ns / 1000000000u) + 1700000000;
    return fs->n_nodes;
}

struct fake_node *fake_node(struct fake_fs *fs, uint64_t nodeid)
{
    if (nodeid == 0 || nodeid > fs->n_nodes)
        return NULL;
    return &fs->nodes[nodeid - 1];
}

static uint64_t child_of(struct fake_fs *fs, uint64_t dir, const char *name, size_t len)
{
    for (size_t i = 0; i < fs->n_nodes; i++) {
        struct fake_node *n = &fs->nodes[i];

        if (i + 1 != ROOT && !n->unlinked && n->parent == dir && strlen(n->name) == len &&
            memcmp(n->name, name, len) == 0)
            return i + 1;
    }
    return 0;
}

static bool has_children(struct fake_fs *fs, uint64_t dir)
{
    for (size_t i = 1; i < fs->n_nodes; i++)
        if (!fs->nodes[i].unlinked && fs->nodes[i].parent == dir)
            return true;
    return false;
}

/* Walks "/a/b" to its node; *parent and *last for the final component. */
static uint64_t walk(struct fake_fs *fs, const char *path, uint64_t *parent, const char **last)
{
    uint64_t cur = ROOT, prev = ROOT;
    const char *p = path, *s = path;

    while (*p) {
        while (*p == '/')
            p++;
        if (!*p)
            break;
        s = p;
        while (*p && *p != '/')
            p++;
        prev = cur;
        cur = cur ? child_of(fs, cur, s, (size_t)(p - s)) : 0;
    }
    if (parent)
        *parent = prev;
    if (last)
        *last = s;
    return cur;
}

uint64_t fake_find(struct fake_fs *fs, const char *path)
{
    return walk(fs, path, NULL, NULL);
}

uint64_t fake_mkdir(struct fake_fs *fs, const char *path, uint32_t mode)
{
    uint64_t parent;
    const char *last;

    if (walk(fs, path, &parent, &last) || !parent)
        return 0;
    return node_add(fs, parent, last, FUSE_S_IFDIR | mode);
}

uint64_t fake_file(struct fake_fs *fs, const char *path, uint32_t mode, const void *data,
                   size_t len)
{
    uint64_t parent, id;
    const char *last;
    struct fake_node *n;

    id = walk(fs, path, &parent, &last);
    if (!id) {
        if (!parent)
            return 0;
        id = node_add(fs, parent, last, FUSE_S_IFREG | mode);
    }
    n = fake_node(fs, id);
    free(n->data);
    n->data = len ? malloc(len) : NULL;
    if (len)
        memcpy(n->data, data, len);
    n->size = len;
    n->mtime++;
    return id;
}

int64_t fake_unforgotten(const struct fake_fs *fs)
{
    int64_t sum = 0;

    for (size_t i = 0; i < fs->n_nodes; i++)
        sum += (int64_t)fs->nodes[i].lookups - (int64_t)fs->nodes[i].forgets;
    return sum;
}

/* ------------------------------------------------------------------ replies */

struct reply {
    uint8_t *buf;
    size_t len, cap;
};

static void put(struct reply *r, const void *p, size_t n)
{
    if (r->len + n > r->cap) {
        r->cap = (r->len + n) * 2;
        r->buf = realloc(r->buf, r->cap);
    }
    memcpy(r->buf + r->len, p, n);
    r->len += n;
}

static void fill_attr(struct fake_fs *fs, uint64_t id, struct fuse_attr *a)
{
    struct fake_node *n = fake_node(fs, id);

    memset(a, 0, sizeof(*a));
    a->ino = id + 1000;
    a->size = n->size;
    a->blocks = (n->size + 511) / 512;
    a->atime = a->mtime = a->ctime = (uint64_t)n->mtime;
    a->mtimensec = 5;
    a->mode = n->mode;
    a->nlink = (n->mode & FUSE_S_IFMT) == FUSE_S_IFDIR ? 2 : 1;
    a->uid = 1000;
    a->gid = 1000;
    a->blksize = 4096;
}

static void fill_entry(struct fake_fs *fs, uint64_t id, struct fuse_entry_out *e)
{
    memset(e, 0, sizeof(*e));
    e->nodeid = id;
    e->generation = 1;
    e->entry_valid = fs->entry_ttl_ns / 1000000000u;
    e->entry_valid_nsec = (uint32_t)(fs->entry_ttl_ns % 1000000000u);
    e->attr_valid = fs->attr_ttl_ns / 1000000000u;
    e->attr_valid_nsec = (uint32_t)(fs->attr_ttl_ns % 1000000000u);
    fill_attr(fs, id, &e->attr);
    fake_node(fs, id)->lookups++;
}

static void put_attr_out(struct fake_fs *fs, struct reply *r, uint64_t id)
{
    struct fuse_attr_out ao;

    memset(&ao, 0, sizeof(ao));
    ao.attr_valid = fs->attr_ttl_ns / 1000000000u;
    ao.attr_valid_nsec = (uint32_t)(fs->attr_ttl_ns % 1000000000u);
    fill_attr(fs, id, &ao.attr);
    put(r, &ao, sizeof(ao));
}

static struct fake_open *find_open(struct fake_fs *fs, uint64_t fh, uint64_t nodeid)
{
    for (unsigned i = 0; i < fs->n_open; i++)
        if (fs->open[i].fh == fh && fs->open[i].nodeid == nodeid)
            return &fs->open[i];
    return NULL;
}

static uint64_t add_open(struct fake_fs *fs, uint64_t nodeid, bool dir, uint32_t flags)
{
    struct fake_open *o;

    if (fs->n_open == FAKE_MAX_OPEN)
        abort(); /* the fake is too small for the test */
    o = &fs->open[fs->n_open++];

    o->fh = ++fs->next_fh;
    o->nodeid = nodeid;
    o->dir = dir;
    o->flags = flags;
    return o->fh;
}

static bool is_dir(struct fake_node *n)
{
    return (n->mode & FUSE_S_IFMT) == FUSE_S_IFDIR;
}

/* A name argument: NUL-terminated within the request, 1..255 bytes, no '/'. */
static const char *arg_name(struct fake_fs *fs, const uint8_t *p, const uint8_t *end)
{
    const uint8_t *z = memchr(p, 0, (size_t)(end - p));

    if (!z || z == p || z - p > FUSE_NAME_MAX || memchr(p, '/', (size_t)(z - p))) {
        fs->protocol_errors++;
        return NULL;
    }
    return (const char *)p;
}

/* Directory listing: "." and ".." then children, cookie = position + 1. */
static int do_readdir(struct fake_fs *fs, struct reply *r, uint64_t dir,
                      const struct fuse_read_in *in, bool plus)
{
    uint64_t pos = 0;
    unsigned count = 0;

    for (size_t i = 0; i < fs->n_nodes + 2; i++) {
        uint64_t id = 0;
        const char *name;
        uint32_t type;
        size_t namelen, hdr = plus ? FUSE_DIRENTPLUS_NAME_OFFSET : FUSE_DIRENT_NAME_OFFSET;
        size_t rec;
        uint8_t tmp[FUSE_DIRENTPLUS_NAME_OFFSET + FUSE_NAME_MAX + 8];
        struct fuse_dirent de;

        if (i == 0) {
            name = ".";
            type = 4;
        } else if (i == 1) {
            name = "..";
            type = 4;
        } else {
            struct fake_node *n = &fs->nodes[i - 2];

            if (i - 2 + 1 == ROOT || n->unlinked || n->parent != dir)
                continue;
            id = i - 2 + 1;
            name = n->name;
            type = (n->mode & FUSE_S_IFMT) >> 12;
        }
        pos++;
        if (pos <= in->offset)
            continue;
        namelen = strlen(name);
        rec = (hdr + namelen + 7) & ~(size_t)7;
        if (r->len - sizeof(struct fuse_out_header) + rec > in->size)
            break;
        memset(tmp, 0, sizeof(tmp));
        if (plus && id) /* like virtiofsd: "." and ".." come without a node */
            fill_entry(fs, id, (struct fuse_entry_out *)tmp);
        de.ino = id ? id + 1000 : 1;
        de.off = fs->stuck_cookies ? in->offset : pos;
        de.namelen = (uint32_t)namelen;
        de.type = type;
        memcpy(tmp + hdr - FUSE_DIRENT_NAME_OFFSET, &de, sizeof(de));
        memcpy(tmp + hdr, name, namelen);
        put(r, tmp, rec);
        count++;
    }
    if (count > fs->readdir_entries_max)
        fs->readdir_entries_max = count;
    return 0;
}

static int handle(struct fake_fs *fs, const struct fuse_in_header *h, const uint8_t *arg,
                  const uint8_t *end, struct reply *r)
{
    struct fake_node *n = fake_node(fs, h->nodeid);
    size_t alen = (size_t)(end - arg);
    const char *name, *name2;
    uint64_t id;

#define NEED(T)                    \
    do {                           \
        if (alen < sizeof(T)) {    \
            fs->protocol_errors++; \
            return -EINVAL;        \
        }                          \
    } while (0)
#define MUTATE()           \
    do {                   \
        if (fs->readonly)  \
            return -EROFS; \
    } while (0)

    if (h->opcode != FUSE_INIT && h->opcode != FUSE_DESTROY && (!n || !n->used)) {
        fs->protocol_errors++;
        return -ESTALE;
    }
    switch (h->opcode) {
    case FUSE_INIT: {
        struct fuse_init_in in;
        struct fuse_init_out o;

        NEED(in);
        memcpy(&in, arg, sizeof(in));
        memset(&o, 0, sizeof(o));
        o.major = 7;
        o.minor = 31;
        o.max_readahead = in.max_readahead;
        o.flags = in.flags & fs->grant_flags;
        if (fs->max_pages) {
            o.flags |= FUSE_MAX_PAGES & in.flags;
            o.max_pages = (uint16_t)fs->max_pages;
        } else {
            o.flags &= ~FUSE_MAX_PAGES;
        }
        o.max_write = fs->max_write;
        o.time_gran = 1;
        put(r, &o, sizeof(o));
        return 0;
    }
    case FUSE_DESTROY:
        return 0;
    case FUSE_LOOKUP:
        if (!(name = arg_name(fs, arg, end)))
            return -EINVAL;
        if (!strcmp(name, ".") || !strcmp(name, ".."))
            fs->dot_lookups++;
        if (!is_dir(n))
            return -ENOTDIR;
        id = child_of(fs, h->nodeid, name, strlen(name));
        if (!id) {
            if (fs->negative_ttl_ns) { /* a negative entry: nodeid 0 with a timeout */
                struct fuse_entry_out e;

                memset(&e, 0, sizeof(e));
                e.entry_valid = fs->negative_ttl_ns / 1000000000u;
                e.entry_valid_nsec = (uint32_t)(fs->negative_ttl_ns % 1000000000u);
                put(r, &e, sizeof(e));
                return 0;
            }
            return -ENOENT;
        }
        {
            struct fuse_entry_out e;

            fill_entry(fs, id, &e);
            put(r, &e, sizeof(e));
        }
        return 0;
    case FUSE_GETATTR:
        NEED(struct fuse_getattr_in);
        put_attr_out(fs, r, h->nodeid);
        return 0;
    case FUSE_SETATTR: {
        struct fuse_setattr_in in;

        NEED(in);
        MUTATE();
        memcpy(&in, arg, sizeof(in));
        if (in.valid & FATTR_SIZE) {
            if (is_dir(n))
                return -EISDIR;
            n->data = realloc(n->data, in.size ? in.size : 1);
            if (in.size > n->size)
                memset(n->data + n->size, 0, in.size - n->size);
            n->size = in.size;
        }
        if (in.valid & FATTR_MODE)
            n->mode = (n->mode & FUSE_S_IFMT) | (in.mode & 07777);
        if (in.valid & FATTR_MTIME)
            n->mtime = (int64_t)in.mtime;
        put_attr_out(fs, r, h->nodeid);
        return 0;
    }
    case FUSE_OPEN:
    case FUSE_OPENDIR: {
        struct fuse_open_in in;
        struct fuse_open_out o;
        bool dir = h->opcode == FUSE_OPENDIR;

        NEED(in);
        memcpy(&in, arg, sizeof(in));
        fs->last_open_flags = in.flags;
        if (dir != is_dir(n))
            return dir ? -ENOTDIR : -EISDIR;
        if ((in.flags & 3) != 0 && fs->readonly)
            return -EROFS;
        if ((in.flags & 3) != 0 && !(n->mode & 0200))
            return -EACCES;
        if ((in.flags & 3) != 1 && !(n->mode & 0400))
            return -EACCES;
        if (in.flags & 01000) { /* O_TRUNC, as ATOMIC_O_TRUNC promises */
            n->size = 0;
        }
        memset(&o, 0, sizeof(o));
        o.fh = add_open(fs, h->nodeid, dir, in.flags);
        put(r, &o, sizeof(o));
        return 0;
    }
    case FUSE_CREATE: {
        struct fuse_create_in in;
        struct fuse_entry_out e;
        struct fuse_open_out o;

        NEED(in);
        memcpy(&in, arg, sizeof(in));
        if (!(name = arg_name(fs, arg + sizeof(in), end)))
            return -EINVAL;
        MUTATE();
        id = child_of(fs, h->nodeid, name, strlen(name));
        if (id && (in.flags & 0200))
            return -EEXIST;
        if (!id)
            id = node_add(fs, h->nodeid, name, FUSE_S_IFREG | (in.mode & 07777));
        fs->last_open_flags = in.flags;
        fill_entry(fs, id, &e);
        memset(&o, 0, sizeof(o));
        o.fh = add_open(fs, id, false, in.flags);
        put(r, &e, sizeof(e));
        put(r, &o, sizeof(o));
        return 0;
    }
    case FUSE_READ: {
        struct fuse_read_in in;
        struct fake_open *o;
        size_t len = 0;

        NEED(in);
        memcpy(&in, arg, sizeof(in));
        if (fs->n_reads < FAKE_MAX_SIZES)
            fs->read_sizes[fs->n_reads++] = in.size;
        o = find_open(fs, in.fh, h->nodeid);
        if (!o || o->dir || (o->flags & 3) == 1)
            return -EBADF;
        if (in.offset < n->size)
            len = n->size - in.offset;
        if (len > in.size)
            len = in.size;
        if (fs->read_cap && len > fs->read_cap)
            len = fs->read_cap;
        if (len)
            put(r, n->data + in.offset, len);
        return 0;
    }
    case FUSE_WRITE: {
        struct fuse_write_in in;
        struct fuse_write_out o;
        struct fake_open *of;
        size_t len;

        NEED(in);
        memcpy(&in, arg, sizeof(in));
        if (alen != sizeof(in) + in.size) {
            fs->protocol_errors++;
            return -EINVAL;
        }
        if (fs->n_writes < FAKE_MAX_SIZES)
            fs->write_sizes[fs->n_writes++] = in.size;
        of = find_open(fs, in.fh, h->nodeid);
        if (!of || (of->flags & 3) == 0)
            return -EBADF;
        len = in.size;
        if (fs->write_cap && len > fs->write_cap)
            len = fs->write_cap;
        if (in.offset + len > n->size) {
            n->data = realloc(n->data, in.offset + len);
            if (in.offset > n->size)
                memset(n->data + n->size, 0, in.offset - n->size);
            n->size = in.offset + len;
        }
        memcpy(n->data + in.offset, arg + sizeof(in), len);
        memset(&o, 0, sizeof(o));
        o.size = (uint32_t)len;
        put(r, &o, sizeof(o));
        return 0;
    }
    case FUSE_FLUSH:
    case FUSE_FSYNC:
    case FUSE_FSYNCDIR:
        return 0;
    case FUSE_RELEASE:
    case FUSE_RELEASEDIR: {
        struct fuse_release_in in;
        struct fake_open *o;

        NEED(in);
        memcpy(&in, arg, sizeof(in));
        o = find_open(fs, in.fh, h->nodeid);
        if (!o || o->dir != (h->opcode == FUSE_RELEASEDIR)) {
            fs->protocol_errors++;
            return -EBADF;
        }
        *o = fs->open[--fs->n_open];
        return 0;
    }
    case FUSE_READDIR:
    case FUSE_READDIRPLUS: {
        struct fuse_read_in in;
        struct fake_open *o;

        NEED(in);
        memcpy(&in, arg, sizeof(in));
        o = find_open(fs, in.fh, h->nodeid);
        if (!o || !o->dir)
            return -EBADF;
        return do_readdir(fs, r, h->nodeid, &in, h->opcode == FUSE_READDIRPLUS);
    }
    case FUSE_MKDIR: {
        struct fuse_mkdir_in in;
        struct fuse_entry_out e;

        NEED(in);
        memcpy(&in, arg, sizeof(in));
        if (!(name = arg_name(fs, arg + sizeof(in), end)))
            return -EINVAL;
        MUTATE();
        if (child_of(fs, h->nodeid, name, strlen(name)))
            return -EEXIST;
        id = node_add(fs, h->nodeid, name, FUSE_S_IFDIR | (in.mode & 07777));
        fill_entry(fs, id, &e);
        put(r, &e, sizeof(e));
        return 0;
    }
    case FUSE_UNLINK:
    case FUSE_RMDIR: {
        struct fake_node *c;

        if (!(name = arg_name(fs, arg, end)))
            return -EINVAL;
        MUTATE();
        id = child_of(fs, h->nodeid, name, strlen(name));
        if (!id)
            return -ENOENT;
        c = fake_node(fs, id);
        if (h->opcode == FUSE_UNLINK && is_dir(c))
            return -EISDIR;
        if (h->opcode == FUSE_RMDIR && !is_dir(c))
            return -ENOTDIR;
        if (h->opcode == FUSE_RMDIR && has_children(fs, id))
            return -ENOTEMPTY;
        c->unlinked = true;
        return 0;
    }
    case FUSE_RENAME: {
        struct fuse_rename_in in;
        struct fake_node *dst;
        uint64_t old, existing;

        NEED(in);
        memcpy(&in, arg, sizeof(in));
        if (!(name = arg_name(fs, arg + sizeof(in), end)))
            return -EINVAL;
        if (!(name2 = arg_name(fs, (const uint8_t *)name + strlen(name) + 1, end)))
            return -EINVAL;
        MUTATE();
        dst = fake_node(fs, in.newdir);
        if (!dst || !is_dir(dst))
            return -ENOTDIR;
        old = child_of(fs, h->nodeid, name, strlen(name));
        if (!old)
            return -ENOENT;
        existing = child_of(fs, in.newdir, name2, strlen(name2));
        if (existing == old)
            return 0;
        if (existing) {
            if (is_dir(fake_node(fs, existing)) && has_children(fs, existing))
                return -ENOTEMPTY;
            fake_node(fs, existing)->unlinked = true;
        }
        fake_node(fs, old)->parent = in.newdir;
        strcpy(fake_node(fs, old)->name, name2);
        return 0;
    }
    case FUSE_STATFS: {
        struct fuse_statfs_out o;

        memset(&o, 0, sizeof(o));
        o.st.blocks = 1000;
        o.st.bfree = 600;
        o.st.bavail = 500;
        o.st.files = 100;
        o.st.ffree = 50;
        o.st.bsize = 4096;
        o.st.namelen = 255;
        o.st.frsize = 4096;
        put(r, &o, sizeof(o));
        return 0;
    }
    default:
        return -ENOSYS;
    }
#undef NEED
#undef MUTATE
}

/* ------------------------------------------------------------------ transport */

static uint8_t *gather(const struct iobuf *b, unsigned n, size_t *len)
{
    size_t total = 0, o = 0;
    uint8_t *p;

    for (unsigned i = 0; i < n; i++)
        total += b[i].len;
    p = malloc(total ? total : 1);
    for (unsigned i = 0; i < n; i++) {
        memcpy(p + o, b[i].addr, b[i].len);
        o += b[i].len;
    }
    *len = total;
    return p;
}

static int fake_call(struct fuse_conn *c, const struct iobuf *out, unsigned n_out,
                     const struct iobuf *in, unsigned n_in)
{
    struct fake_fs *fs = (struct fake_fs *)c;
    struct fuse_in_header h;
    struct fuse_out_header oh;
    struct reply r = {0};
    size_t len, cap = 0, off = 0;
    uint8_t *req = gather(out, n_out, &len);
    int err;

    memset(&oh, 0, sizeof(oh));

    for (unsigned i = 0; i < n_in; i++) {
        if (in[i].len == 0)
            fs->protocol_errors++;
        cap += in[i].len;
    }
    if (len < sizeof(h)) {
        fs->protocol_errors++;
        free(req);
        return -EIO;
    }
    memcpy(&h, req, sizeof(h));
    if (h.len != len || h.unique == 0 || h.opcode >= 64) {
        fs->protocol_errors++;
        free(req);
        return -EIO;
    }
    fs->ops[h.opcode]++;
    if (fs->hook)
        fs->hook(fs, h.opcode, h.nodeid);
    put(&r, &oh, sizeof(oh)); /* room for the header */
    if (fs->fail_opcode == h.opcode) {
        fs->fail_opcode = 0;
        err = -fs->fail_errno;
    } else {
        err = handle(fs, &h, req + sizeof(h), req + len, &r);
    }
    if (err)
        r.len = sizeof(oh);
    oh.len = (uint32_t)r.len;
    oh.error = err;
    oh.unique = h.unique;
    memcpy(r.buf, &oh, sizeof(oh));
    free(req);
    if (r.len > cap) { /* the client gave too little room: a client bug */
        fs->protocol_errors++;
        free(r.buf);
        return -EIO;
    }
    for (unsigned i = 0; i < n_in && off < r.len; i++) {
        size_t n = r.len - off < in[i].len ? r.len - off : in[i].len;

        memcpy(in[i].addr, r.buf + off, n);
        off += n;
    }
    free(r.buf);
    return (int)off;
}

static int fake_noreply(struct fuse_conn *c, const struct iobuf *out, unsigned n_out)
{
    struct fake_fs *fs = (struct fake_fs *)c;
    struct fuse_in_header h;
    struct fuse_forget_in f;
    size_t len;
    uint8_t *req = gather(out, n_out, &len);
    struct fake_node *n;

    if (len != sizeof(h) + sizeof(f)) {
        fs->protocol_errors++;
        free(req);
        return -EIO;
    }
    memcpy(&h, req, sizeof(h));
    memcpy(&f, req + sizeof(h), sizeof(f));
    free(req);
    n = fake_node(fs, h.nodeid);
    if (h.opcode != FUSE_FORGET || h.len != len || !n || f.nlookup == 0) {
        fs->protocol_errors++;
        return -EIO;
    }
    fs->ops[FUSE_FORGET]++;
    n->forgets += f.nlookup;
    if (n->forgets > n->lookups)
        fs->protocol_errors++; /* forgot more than was looked up */
    return 0;
}

static uint64_t fake_now(struct fuse_conn *c)
{
    return ((struct fake_fs *)c)->now_ns;
}

struct fake_fs *fake_new(void)
{
    struct fake_fs *fs = calloc(1, sizeof(*fs));

    fs->conn.call = fake_call;
    fs->conn.send_noreply = fake_noreply;
    fs->conn.now_ns = fake_now;
    fs->now_ns = 1000000000ull;
    fs->max_pages = 32;
    fs->max_write = 128 * 1024;
    fs->grant_flags = ~0u;
    fs->entry_ttl_ns = 1000000000ull;
    fs->attr_ttl_ns = 1000000000ull;
    node_add(fs, 0, "", FUSE_S_IFDIR | 0755); /* root: nodeid 1 */
    return fs;
}

void fake_free(struct fake_fs *fs)
{
    for (size_t i = 0; i < fs->n_nodes; i++)
        free(fs->nodes[i].data);
    free(fs->nodes);
    free(fs);
}
