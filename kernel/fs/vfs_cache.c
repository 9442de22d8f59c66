/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * VFS caches: inodes by (mount, nodeid), name entries by (parent, name)
 * with an LRU bound, attribute freshness, and the FORGET queue. See
 * vfs_impl.h for the reference rules. Only vfs_lookup_child, vfs_getattr
 * and vfs_forget_flush send requests.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "fs/vfs_impl.h"

#define INODE_BUCKETS  512u
#define DENTRY_BUCKETS 2048u

static struct vfs_inode *inode_hash[INODE_BUCKETS];
static struct vfs_dentry *dentry_hash[DENTRY_BUCKETS];
static struct vfs_dentry *lru_head, *lru_tail; /* head: most recently used */
static unsigned dentry_count, inode_count;
static unsigned dentry_limit = VFS_DCACHE_LIMIT;
static struct vfs_inode *forget_queue;

static uint32_t inode_bucket(const struct vfs_mount *m, uint64_t nodeid)
{
    uint64_t h = (nodeid ^ (uintptr_t)m) * 0x9e3779b97f4a7c15ull;

    return (uint32_t)(h >> 40) % INODE_BUCKETS;
}

/* FNV-1a over the name, mixed with the parent's address. */
static uint32_t name_hash(const struct vfs_inode *parent, const char *name, size_t len)
{
    uint64_t h = 0xcbf29ce484222325ull ^ (uintptr_t)parent;

    for (size_t i = 0; i < len; i++)
        h = (h ^ (uint8_t)name[i]) * 0x100000001b3ull;
    return (uint32_t)(h ^ (h >> 32));
}

/* ------------------------------------------------------------------ inodes */

void vfs_inode_get(struct vfs_inode *i)
{
    i->refs++;
}

void vfs_inode_put(struct vfs_inode *i)
{
    struct vfs_inode **pp;

    if (--i->refs)
        return;
    for (pp = &inode_hash[inode_bucket(i->mnt, i->nodeid)]; *pp; pp = &(*pp)->hnext) {
        if (*pp == i) {
            *pp = i->hnext;
            break;
        }
    }
    i->mnt->inodes--;
    inode_count--;
    if (i->nlookup == 0) {
        free(i);
        return;
    }
    i->hnext = forget_queue;
    forget_queue = i;
}

void vfs_forget_flush(void)
{
    struct vfs_inode *i;

    /* Pop before sending: another thread may flush while we block. */
    while ((i = forget_queue) != NULL) {
        forget_queue = i->hnext;
        (void)fuse_forget(i->conn, i->nodeid, i->nlookup);
        free(i);
    }
}

void vfs_attr_set(struct vfs_inode *i, const struct fuse_attr_info *a, uint64_t ttl, uint64_t now)
{
    i->attr = *a;
    i->attr_deadline = vfs_deadline(now, ttl);
}

static struct vfs_inode *inode_new(struct vfs_mount *m, uint64_t nodeid)
{
    struct vfs_inode *i = calloc(1, sizeof(*i));
    uint32_t b = inode_bucket(m, nodeid);

    if (!i)
        return NULL;
    i->mnt = m;
    i->conn = m->conn;
    i->nodeid = nodeid;
    i->refs = 1;
    i->hnext = inode_hash[b];
    inode_hash[b] = i;
    m->inodes++;
    inode_count++;
    return i;
}

struct vfs_inode *vfs_inode_root(struct vfs_mount *m, const struct fuse_attr_info *a,
                                 uint64_t attr_ttl)
{
    struct vfs_inode *i = inode_new(m, FUSE_ROOT_ID);

    if (i)
        vfs_attr_set(i, a, attr_ttl, vfs_now(m));
    return i;
}

struct vfs_inode *vfs_inode_from_entry(struct vfs_mount *m, const struct fuse_entry_info *e,
                                       uint64_t now)
{
    struct vfs_inode *i;

    for (i = inode_hash[inode_bucket(m, e->nodeid)]; i; i = i->hnext)
        if (i->mnt == m && i->nodeid == e->nodeid)
            break;
    if (i) {
        i->refs++;
    } else if (!(i = inode_new(m, e->nodeid))) {
        /* Keep the count balanced: queue a bare FORGET record. */
        struct vfs_inode *f = calloc(1, sizeof(*f));

        if (f) {
            f->conn = m->conn;
            f->nodeid = e->nodeid;
            f->nlookup = 1;
            f->hnext = forget_queue;
            forget_queue = f;
        }
        return NULL;
    }
    i->nlookup++;
    vfs_attr_set(i, &e->attr, e->attr_ttl_ns, now);
    return i;
}

/* ------------------------------------------------------------------ names */

static void lru_unlink(struct vfs_dentry *d)
{
    if (d->lru_prev)
        d->lru_prev->lru_next = d->lru_next;
    else
        lru_head = d->lru_next;
    if (d->lru_next)
        d->lru_next->lru_prev = d->lru_prev;
    else
        lru_tail = d->lru_prev;
    d->lru_prev = d->lru_next = NULL;
}

static void lru_push_head(struct vfs_dentry *d)
{
    d->lru_prev = NULL;
    d->lru_next = lru_head;
    if (lru_head)
        lru_head->lru_prev = d;
    else
        lru_tail = d;
    lru_head = d;
}

struct vfs_dentry *vfs_dentry_find(struct vfs_inode *parent, const char *name, size_t len)
{
    uint32_t h = name_hash(parent, name, len);
    struct vfs_dentry *d;

    for (d = dentry_hash[h % DENTRY_BUCKETS]; d; d = d->hnext) {
        if (d->hash == h && d->parent == parent && d->namelen == len &&
            memcmp(d->name, name, len) == 0) {
            lru_unlink(d);
            lru_push_head(d);
            return d;
        }
    }
    return NULL;
}

/* Unhashes and frees d, dropping its references (never blocks). */
static void dentry_drop(struct vfs_dentry *d)
{
    struct vfs_dentry **pp;

    for (pp = &dentry_hash[d->hash % DENTRY_BUCKETS]; *pp; pp = &(*pp)->hnext) {
        if (*pp == d) {
            *pp = d->hnext;
            break;
        }
    }
    lru_unlink(d);
    dentry_count--;
    if (d->child)
        vfs_inode_put(d->child);
    vfs_inode_put(d->parent);
    free(d);
}

void vfs_dentry_remove(struct vfs_inode *parent, const char *name, size_t len)
{
    struct vfs_dentry *d = vfs_dentry_find(parent, name, len);

    if (d)
        dentry_drop(d);
}

void vfs_dentry_set(struct vfs_inode *parent, const char *name, size_t len, struct vfs_inode *child,
                    uint64_t deadline)
{
    struct vfs_dentry *d = vfs_dentry_find(parent, name, len);

    if (d) { /* replace in place: take the new reference before dropping the old */
        if (child)
            vfs_inode_get(child);
        if (d->child)
            vfs_inode_put(d->child);
        d->child = child;
        d->deadline = deadline;
        return;
    }
    d = malloc(sizeof(*d) + len + 1);
    if (!d)
        return;
    d->hash = name_hash(parent, name, len);
    d->parent = parent;
    d->child = child;
    d->deadline = deadline;
    d->namelen = (uint32_t)len;
    memcpy(d->name, name, len);
    d->name[len] = '\0';
    vfs_inode_get(parent);
    if (child)
        vfs_inode_get(child);
    d->hnext = dentry_hash[d->hash % DENTRY_BUCKETS];
    dentry_hash[d->hash % DENTRY_BUCKETS] = d;
    lru_push_head(d);
    dentry_count++;
    while (dentry_count > dentry_limit && lru_tail && lru_tail != d)
        dentry_drop(lru_tail);
}

void vfs_dentry_drop_all(struct vfs_mount *m)
{
    struct vfs_dentry *d, *prev;

    /* Dropping only puts inodes (never blocks), so the list is stable. */
    for (d = lru_tail; d; d = prev) {
        prev = d->lru_prev;
        if (!m || d->parent->mnt == m)
            dentry_drop(d);
    }
}

void vfs_set_cache_limit(unsigned entries)
{
    dentry_limit = entries ? entries : 1;
}

unsigned vfs_cache_limit(void)
{
    return dentry_limit;
}

struct vfs_cache_stats vfs_cache_stats(void)
{
    struct vfs_cache_stats s = {.dentries = dentry_count, .inodes = inode_count};

    return s;
}

/* ------------------------------------------------------------------ lookups */

int vfs_lookup_child(struct vfs_inode *dir, const char *name, size_t len, struct vfs_inode **child)
{
    struct vfs_mount *m = dir->mnt;
    struct fuse_entry_info e;
    struct vfs_dentry *d;
    struct vfs_inode *c;
    char buf[FUSE_NAME_MAX + 1];
    uint64_t now;
    int rc;

    if (vfs_is_link(dir))
        return -ELOOP;
    if (!vfs_is_dir(dir))
        return -ENOTDIR;
    if (len > FUSE_NAME_MAX)
        return -ENAMETOOLONG;
    d = vfs_dentry_find(dir, name, len);
    if (d && vfs_now(m) < d->deadline) {
        if (!d->child)
            return -ENOENT;
        vfs_inode_get(d->child);
        *child = d->child;
        return 0;
    }
    memcpy(buf, name, len);
    buf[len] = '\0';
    rc = fuse_lookup(m->conn, dir->nodeid, buf, &e); /* blocks; d may be gone after */
    now = vfs_now(m);
    if (rc == -ENOENT) {
        if (e.entry_ttl_ns)
            vfs_dentry_set(dir, name, len, NULL, vfs_deadline(now, e.entry_ttl_ns));
        else
            vfs_dentry_remove(dir, name, len);
        return -ENOENT;
    }
    if (rc < 0)
        return rc;
    c = vfs_inode_from_entry(m, &e, now);
    if (!c)
        return -ENOMEM;
    vfs_dentry_set(dir, name, len, c, vfs_deadline(now, e.entry_ttl_ns));
    *child = c;
    return 0;
}

int vfs_getattr(struct vfs_inode *i, bool has_fh, uint64_t fh, bool fresh, struct fuse_attr_info *a)
{
    struct fuse_attr_info na;
    uint64_t ttl;
    int rc;

    if (!fresh && vfs_now(i->mnt) < i->attr_deadline) {
        *a = i->attr;
        return 0;
    }
    rc = fuse_getattr(i->conn, i->nodeid, has_fh, fh, &na, &ttl);
    if (rc < 0)
        return rc;
    vfs_attr_set(i, &na, ttl, vfs_now(i->mnt));
    *a = na;
    return 0;
}
