/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * VFS: mounts, path resolution and the operations on names (stat, mkdir,
 * unlink, rmdir, rename, statfs). Descriptors are in vfs_file.c, caches in
 * vfs_cache.c. Every public function ends by sending the FORGETs that its
 * work queued.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "fs/vfs_impl.h"
#include "lib/fd/fd_port.h"
#include "miura/miura.h"

static struct vfs_mount mounts[VFS_MAX_MOUNTS];

/* ------------------------------------------------------------------ paths */

/*
 * Lexical normalisation into a new string: "/" then components joined by
 * '/', without empty ones, "." or "..". Returns 0, -ENOENT (empty path),
 * -ENAMETOOLONG, -ENOMEM.
 */
static int normalize(const char *path, char **out, bool *trailing_slash)
{
    size_t len, o = 0;
    const char *p;
    char *n;

    if (!path || !*path)
        return -ENOENT;
    len = strnlen(path, VFS_PATH_MAX);
    if (len >= VFS_PATH_MAX)
        return -ENAMETOOLONG;
    n = malloc(len + 2);
    if (!n)
        return -ENOMEM;
    *trailing_slash = path[len - 1] == '/';
    for (p = path; *p;) {
        const char *s;
        size_t cl;

        while (*p == '/')
            p++;
        s = p;
        while (*p && *p != '/')
            p++;
        cl = (size_t)(p - s);
        if (cl == 0 || (cl == 1 && s[0] == '.'))
            continue;
        if (cl > FUSE_NAME_MAX) {
            free(n);
            return -ENAMETOOLONG;
        }
        if (cl == 2 && s[0] == '.' && s[1] == '.') {
            while (o > 0 && n[o - 1] != '/')
                o--;
            if (o > 0)
                o--; /* the '/' before it; at "/" ".." stays at "/" */
            continue;
        }
        n[o++] = '/';
        memcpy(n + o, s, cl);
        o += cl;
    }
    if (o == 0)
        n[o++] = '/';
    n[o] = '\0';
    /* "." or ".." as the last component name a directory, like "x/". */
    if (len >= 2 && path[len - 1] == '.' && (path[len - 2] == '/' || path[len - 2] == '.'))
        *trailing_slash = true;
    *out = n;
    return 0;
}

/* Deepest used mount whose path is norm or a '/'-bounded prefix of it. */
static struct vfs_mount *find_mount(const char *norm)
{
    struct vfs_mount *best = NULL;

    for (unsigned i = 0; i < VFS_MAX_MOUNTS; i++) {
        struct vfs_mount *m = &mounts[i];

        if (!m->used || (best && best->pathlen >= m->pathlen))
            continue;
        if (m->pathlen == 1 || (strncmp(norm, m->path, m->pathlen) == 0 &&
                                (norm[m->pathlen] == '\0' || norm[m->pathlen] == '/')))
            best = m;
    }
    return best;
}

void vfs_walk_done(struct vfs_walk *w)
{
    if (w->inode)
        vfs_inode_put(w->inode);
    free(w->norm);
    memset(w, 0, sizeof(*w));
    vfs_forget_flush();
}

int vfs_walk(const char *path, bool parent, struct vfs_walk *w)
{
    const char *p, *s;
    int rc;

    fd_io_check();
    memset(w, 0, sizeof(*w));
    rc = normalize(path, &w->norm, &w->trailing_slash);
    if (rc < 0)
        return rc;
    w->mnt = find_mount(w->norm);
    if (!w->mnt)
        return -ENOENT;
    w->inode = w->mnt->root;
    vfs_inode_get(w->inode);
    p = w->norm + (w->mnt->pathlen == 1 ? 0 : w->mnt->pathlen);
    if (p[0] == '/' && p[1] == '\0')
        p++; /* "/" itself */
    while (*p == '/') {
        struct vfs_inode *child;
        size_t len;

        s = ++p;
        while (*p && *p != '/')
            p++;
        len = (size_t)(p - s);
        if (parent && *p == '\0') {
            if (vfs_is_link(w->inode))
                return -ELOOP;
            if (!vfs_is_dir(w->inode))
                return -ENOTDIR;
            w->last = s;
            return 0;
        }
        rc = vfs_lookup_child(w->inode, s, len, &child); /* blocks */
        if (rc < 0)
            return rc;
        vfs_inode_put(w->inode);
        w->inode = child;
    }
    if (w->trailing_slash && !parent && !vfs_is_dir(w->inode))
        return vfs_is_link(w->inode) ? -ELOOP : -ENOTDIR;
    return 0;
}

/* ------------------------------------------------------------------ mounts */

/* A free slot for a mount at norm: 0, -EBUSY (already mounted), -ENOSPC. */
static int mount_slot(const char *norm, struct vfs_mount **out)
{
    *out = NULL;
    for (unsigned i = 0; i < VFS_MAX_MOUNTS; i++) {
        if (mounts[i].used && strcmp(mounts[i].path, norm) == 0)
            return -EBUSY;
        if (!mounts[i].used && !*out)
            *out = &mounts[i];
    }
    return *out ? 0 : -ENOSPC;
}

int vfs_mount(const char *path, struct fuse_conn *c)
{
    struct vfs_mount *m;
    struct fuse_attr_info a;
    uint64_t ttl;
    bool trailing;
    char *norm;
    int rc;

    if (!path || path[0] != '/' || !c)
        return -EINVAL;
    rc = normalize(path, &norm, &trailing);
    if (rc < 0)
        return rc;
    if ((rc = mount_slot(norm, &m)) < 0)
        goto err_free;
    if (c->params.max_read == 0 && (rc = fuse_conn_init(c)) < 0) /* blocks */
        goto err_free;
    rc = fuse_getattr(c, FUSE_ROOT_ID, false, 0, &a, &ttl); /* blocks */
    if (rc < 0)
        goto err_free;
    if ((a.mode & FUSE_S_IFMT) != FUSE_S_IFDIR) {
        rc = -ENOTDIR;
        goto err_free;
    }
    /* Again: another thread may have mounted meanwhile. */
    if ((rc = mount_slot(norm, &m)) < 0)
        goto err_free;
    memset(m, 0, sizeof(*m));
    m->path = norm;
    m->pathlen = strlen(norm);
    m->conn = c;
    m->dev = (uint64_t)(m - mounts) + 1;
    m->root = vfs_inode_root(m, &a, ttl);
    if (!m->root) {
        rc = -ENOMEM;
        goto err_free;
    }
    m->used = true;
    return 0;

err_free:
    free(norm);
    return rc;
}

int vfs_mount_tag(const char *tag, struct fuse_conn *c)
{
    const char *want = miura_getarg("fs"), *at;
    char key[sizeof("fs.") + VFS_TAG_MAX];

    if (!tag || strlen(tag) > VFS_TAG_MAX)
        return 1;
    memcpy(key, "fs.", 3);
    memcpy(key + 3, tag, strlen(tag) + 1);
    at = miura_getarg(key); /* `fs.TAG=PATH`: this device goes at PATH */
    if (at)
        return at[0] == '/' ? vfs_mount(at, c) : -EINVAL;
    if (want ? strcmp(want, tag) != 0 : find_mount("/") != NULL)
        return 1;
    return vfs_mount("/", c);
}

int vfs_unmount(const char *path)
{
    struct vfs_mount *m = NULL;
    bool trailing;
    char *norm;
    int rc;

    rc = normalize(path, &norm, &trailing);
    if (rc < 0)
        return rc;
    for (unsigned i = 0; i < VFS_MAX_MOUNTS; i++)
        if (mounts[i].used && strcmp(mounts[i].path, norm) == 0)
            m = &mounts[i];
    free(norm);
    if (!m)
        return -EINVAL;
    if (m->files)
        return -EBUSY;
    vfs_dentry_drop_all(m);
    /* Anything left besides the root (or a second root reference) is held
     * by an operation in progress. */
    if (m->inodes != 1 || m->root->refs != 1) {
        vfs_forget_flush();
        return -EBUSY;
    }
    m->used = false;
    vfs_inode_put(m->root); /* FORGETs the root only if READDIRPLUS counted it */
    m->root = NULL;
    free(m->path);
    m->path = NULL;
    vfs_forget_flush(); /* blocks; the mount is already gone */
    return 0;
}

void vfs_drop_caches(void)
{
    vfs_dentry_drop_all(NULL);
    vfs_forget_flush();
}

/* ------------------------------------------------------------------ names */

int vfs_stat(const char *path, struct vfs_stat *st)
{
    struct vfs_walk w;
    int rc = vfs_walk(path, false, &w);

    if (rc == 0) {
        st->dev = w.mnt->dev;
        rc = vfs_getattr(w.inode, false, 0, false, &st->attr);
    }
    vfs_walk_done(&w);
    return rc;
}

int vfs_statfs(const char *path, struct fuse_statfs_info *s)
{
    struct vfs_walk w;
    int rc = vfs_walk(path, false, &w);

    if (rc == 0)
        rc = fuse_statfs(w.mnt->conn, w.inode->nodeid, s);
    vfs_walk_done(&w);
    return rc;
}

int vfs_mkdir(const char *path, uint32_t mode)
{
    struct vfs_walk w;
    struct fuse_entry_info e;
    int rc = vfs_walk(path, true, &w);

    if (rc == 0 && !w.last)
        rc = -EEXIST; /* a mount root */
    if (rc == 0)
        rc = fuse_mkdir(w.mnt->conn, w.inode->nodeid, w.last, mode & 07777, 0, &e);
    if (rc == 0) {
        uint64_t now = vfs_now(w.mnt);
        struct vfs_inode *c = vfs_inode_from_entry(w.mnt, &e, now);

        vfs_attr_invalidate(w.inode); /* nlink, mtime */
        if (c) {
            vfs_dentry_set(w.inode, w.last, strlen(w.last), c, vfs_deadline(now, e.entry_ttl_ns));
            vfs_inode_put(c);
        } else {
            vfs_dentry_remove(w.inode, w.last, strlen(w.last));
        }
    }
    vfs_walk_done(&w);
    return rc;
}

/* Forgets what the cache knows about name in dir after it changed. */
static void name_changed(struct vfs_inode *dir, const char *name)
{
    struct vfs_dentry *d = vfs_dentry_find(dir, name, strlen(name));

    if (d && d->child)
        vfs_attr_invalidate(d->child); /* nlink, ctime */
    vfs_dentry_remove(dir, name, strlen(name));
    vfs_attr_invalidate(dir);
}

static int remove_name(const char *path, bool dir)
{
    struct vfs_walk w;
    int rc = vfs_walk(path, true, &w);

    if (rc == 0 && !w.last)
        rc = -EBUSY; /* a mount root */
    if (rc == 0 && w.trailing_slash && !dir)
        rc = -ENOTDIR;
    if (rc == 0) {
        rc = fuse_unlink(w.mnt->conn, w.inode->nodeid, w.last, dir); /* blocks */
        if (rc == 0 || rc == -ENOENT)
            name_changed(w.inode, w.last);
    }
    vfs_walk_done(&w);
    return rc;
}

int vfs_unlink(const char *path)
{
    return remove_name(path, false);
}

int vfs_rmdir(const char *path)
{
    return remove_name(path, true);
}

int vfs_rename(const char *oldpath, const char *newpath)
{
    struct vfs_walk a, b;
    bool sent = false;
    int rc;

    memset(&b, 0, sizeof(b));
    rc = vfs_walk(oldpath, true, &a);
    if (rc == 0)
        rc = vfs_walk(newpath, true, &b);
    if (rc == 0 && (!a.last || !b.last))
        rc = -EBUSY; /* a mount root */
    if (rc == 0 && a.mnt != b.mnt)
        rc = -EXDEV;
    if (rc == 0) {
        /* Both walks hold their directories across the request. */
        rc = fuse_rename(a.mnt->conn, a.inode->nodeid, a.last, b.inode->nodeid, b.last);
        sent = true;
    }
    if (sent && (rc == 0 || rc == -ENOENT)) {
        name_changed(a.inode, a.last);
        name_changed(b.inode, b.last);
    }
    vfs_walk_done(&b);
    vfs_walk_done(&a);
    return rc;
}
