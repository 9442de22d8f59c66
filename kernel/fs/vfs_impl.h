/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * VFS internals shared by vfs_cache.c (nodes, names, FORGET queue), vfs.c
 * (mounts, paths, namespace operations) and vfs_file.c (descriptors).
 *
 * Reference rules:
 * - An inode lives while refs > 0: one per name entry that points at it or
 *   has it as parent, one per open file, one for the mount's root, and one
 *   per operation in progress that holds it. When refs drops to 0 it leaves
 *   the hash at once (a later LOOKUP of the same nodeid makes a new one;
 *   FUSE lookup counts add up) and goes to the FORGET queue, which
 *   vfs_forget_flush() sends; nothing that drops references ever blocks.
 * - Only functions documented as "blocks" send requests. Callers hold a
 *   reference on every inode they use across such a call.
 */
#ifndef MIURA_FS_VFS_IMPL_H
#define MIURA_FS_VFS_IMPL_H

#include "fs/fuse_client.h"
#include "fs/vfs.h"

struct vfs_mount {
    bool used;
    char *path; /* normalised: "/" or "/a/b" */
    size_t pathlen;
    struct fuse_conn *conn;
    struct vfs_inode *root;
    uint64_t dev;
    unsigned inodes; /* live inodes, root included */
    unsigned files;  /* open files */
    bool no_flush;   /* the server answered FLUSH with ENOSYS */
};

struct vfs_inode {
    struct vfs_inode *hnext; /* hash chain; FORGET queue link once unhashed */
    struct vfs_mount *mnt;
    struct fuse_conn *conn;
    uint64_t nodeid;
    uint64_t nlookup; /* lookups the server counted and we have not forgotten */
    uint32_t refs;
    struct fuse_attr_info attr;
    uint64_t attr_deadline; /* attr is fresh while now < this */
};

struct vfs_dentry {
    struct vfs_dentry *hnext;
    struct vfs_dentry *lru_prev, *lru_next; /* lru_prev: more recently used */
    struct vfs_inode *parent;               /* holds a reference */
    struct vfs_inode *child;                /* holds a reference; NULL: negative */
    uint64_t deadline;                      /* valid while now < this */
    uint32_t hash;
    uint32_t namelen;
    char name[]; /* NUL-terminated */
};

static inline bool vfs_is_dir(const struct vfs_inode *i)
{
    return (i->attr.mode & FUSE_S_IFMT) == FUSE_S_IFDIR;
}

static inline bool vfs_is_link(const struct vfs_inode *i)
{
    return (i->attr.mode & FUSE_S_IFMT) == FUSE_S_IFLNK;
}

static inline uint64_t vfs_now(const struct vfs_mount *m)
{
    return m->conn->now_ns(m->conn);
}

static inline uint64_t vfs_deadline(uint64_t now, uint64_t ttl)
{
    return ttl > UINT64_MAX - now ? UINT64_MAX : now + ttl;
}

/* ---- vfs_cache.c */
struct vfs_inode *vfs_inode_root(struct vfs_mount *m, const struct fuse_attr_info *a,
                                 uint64_t attr_ttl);
/* Takes over one server lookup of e->nodeid: finds or makes its inode, adds
 * to nlookup, refreshes attributes, returns it with a reference. On -ENOMEM
 * (NULL) the lookup is queued for FORGET. */
struct vfs_inode *vfs_inode_from_entry(struct vfs_mount *m, const struct fuse_entry_info *e,
                                       uint64_t now);
void vfs_inode_get(struct vfs_inode *i);
void vfs_inode_put(struct vfs_inode *i);
void vfs_attr_set(struct vfs_inode *i, const struct fuse_attr_info *a, uint64_t ttl, uint64_t now);
static inline void vfs_attr_invalidate(struct vfs_inode *i)
{
    i->attr_deadline = 0;
}
/* Sends the queued FORGETs. Blocks. */
void vfs_forget_flush(void);

/* Name entry, fresh or not, or NULL. */
struct vfs_dentry *vfs_dentry_find(struct vfs_inode *parent, const char *name, size_t len);
/* Sets name in parent to child (NULL: known absent) until deadline. Best
 * effort: without memory the name is simply not cached. */
void vfs_dentry_set(struct vfs_inode *parent, const char *name, size_t len, struct vfs_inode *child,
                    uint64_t deadline);
void vfs_dentry_remove(struct vfs_inode *parent, const char *name, size_t len);
/* Drops every name entry of mount m (all mounts if m is NULL). */
void vfs_dentry_drop_all(struct vfs_mount *m);

/*
 * Resolves one name in directory dir (from the cache while fresh, else
 * LOOKUP): 0 and *child with a reference, -ENOTDIR, -ENOENT, ... Blocks;
 * the caller holds a reference on dir.
 */
int vfs_lookup_child(struct vfs_inode *dir, const char *name, size_t len, struct vfs_inode **child);

/* Attributes of i, cached while fresh, else GETATTR (of fh if has_fh).
 * fresh: always ask the server. Blocks. */
int vfs_getattr(struct vfs_inode *i, bool has_fh, uint64_t fh, bool fresh,
                struct fuse_attr_info *a);

/* ---- vfs.c */
struct vfs_walk {
    char *norm;              /* normalised path (owned) */
    struct vfs_mount *mnt;   /* serving mount */
    struct vfs_inode *inode; /* result with a reference: target, or parent */
    const char *last;        /* parent walks: final component; NULL at a mount root */
    bool trailing_slash;
};
/* Resolves path to its node (parent false) or to the parent directory of its
 * last component (parent true). Blocks. vfs_walk_done() in every case. */
int vfs_walk(const char *path, bool parent, struct vfs_walk *w);
void vfs_walk_done(struct vfs_walk *w);

#endif
