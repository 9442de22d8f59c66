/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * VFS: mounts, path lookup, the inode, name and attribute caches, and open
 * files, over FUSE sessions (struct fuse_conn). The POSIX-shaped functions
 * (posix.c) are thin wrappers that give open files descriptors (lib/fd) and
 * turn the negative errno returned here into errno and -1.
 *
 * Paths. Absolute or relative; there is no working directory, so a
 * relative path starts at "/". Paths are resolved lexically first: empty
 * components and "." are dropped and ".." removes the previous component
 * ("/.." is "/"), so no path can name anything outside the mounted trees
 * and ".." is never sent to a server. The deepest mount whose path prefixes
 * the result serves it. A trailing '/' requires a directory. Symbolic links
 * are not followed: a link inside a path, or opened, gives -ELOOP; stat
 * reports the link itself. Components are at most 255 bytes
 * (-ENAMETOOLONG), paths at most VFS_PATH_MAX - 1 bytes.
 *
 * Caches. A name → node entry is kept for the entry timeout the server
 * gave (virtiofsd cache=auto: 1 s), negative entries too; attributes for
 * the attribute timeout; after that they are asked for again, so a change
 * made on the host shows after at most the timeout. Changes made through
 * this VFS are seen at once (they update or invalidate the caches). The
 * name cache holds at most vfs_cache_limit() entries (LRU); a node is kept
 * while a name entry or an open file refers to it, and when the last
 * reference goes the server is sent FORGET with every lookup it counted.
 *
 * Concurrency. Miura's threads are cooperative per CPU. A VFS call may
 * block inside the transport (FUSE request in flight), and other threads of
 * the CPU then run and may use the VFS. Every structure is consistent
 * before each request and is looked at again after it; open files are
 * reference-counted, so closing a file while another thread reads it is
 * safe (the file is released when the read returns). The VFS must be
 * used from one CPU at a time; it takes no locks.
 *
 * Errors: negative errno (Linux values): the server's errors unchanged,
 * plus -EBADF, -EINVAL, -ENAMETOOLONG, -ELOOP, -ENOMEM, -EBUSY
 * (mount in use), -EIO/-EPROTO (transport or server broken).
 */
#ifndef MIURA_FS_VFS_H
#define MIURA_FS_VFS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "fs/fuse_conn.h"

#define VFS_MAX_MOUNTS   8
#define VFS_PATH_MAX     4096  /* including the NUL */
#define VFS_DCACHE_LIMIT 1024  /* default bound of the name cache */
#define VFS_DIRBUF_SIZE  16384 /* bytes per READDIR(PLUS) request */
#define VFS_TAG_MAX      36    /* a virtio-fs tag (virtio 1.2 §5.11.4) */

#define VFS_SEEK_SET 0
#define VFS_SEEK_CUR 1
#define VFS_SEEK_END 2

/*
 * Mounts the session c at path (absolute; "/" for the root). Starts the
 * session with fuse_conn_init() unless c->params shows it was started, and
 * checks that the server's root is a directory. -EBUSY if path is already
 * a mount point, -ENOSPC if VFS_MAX_MOUNTS are in use. c must stay valid
 * until vfs_unmount() succeeds.
 */
int vfs_mount(const char *path, struct fuse_conn *c);

/*
 * For the virtio-fs driver: mounts c at PATH if the kernel command line has
 * a word `fs.TAG=PATH` for this tag (PATH absolute, else -EINVAL); otherwise
 * at "/" if tag is the one the command line names with `fs=TAG`, or, without
 * an `fs=` word, if nothing is mounted at "/" yet (the first device wins).
 * Tags are at most VFS_TAG_MAX bytes (longer ones are not wanted). Returns 0
 * when mounted, 1 when this tag is not wanted, or vfs_mount()'s error.
 */
int vfs_mount_tag(const char *tag, struct fuse_conn *c);

/*
 * Drops the mount's caches, FORGETs every node and forgets c. -EBUSY while
 * a file of it is open or a request of it is in flight (nothing is
 * unmounted then); -EINVAL if path is not a mount point.
 */
int vfs_unmount(const char *path);

/* Drops every unused cache entry of every mount (FORGETs what it can). */
void vfs_drop_caches(void);

/* Name-cache bound (entries, >= 1); takes effect at the next insertion. */
void vfs_set_cache_limit(unsigned entries);
unsigned vfs_cache_limit(void);

struct vfs_cache_stats {
    unsigned dentries; /* name entries, negative ones included */
    unsigned inodes;   /* nodes kept (roots included) */
};
struct vfs_cache_stats vfs_cache_stats(void);

/* ---- open files */

/* An open file. It begins with a struct fd_object (lib/fd/fd.h), so a
 * pointer to one is a pointer to the other: posix.c sets its kind and
 * installs it; the VFS keeps the open flags in its flags, where fcntl
 * F_SETFL may change O_APPEND (and O_NONBLOCK, which files ignore). */
struct vfs_file;

/*
 * O_RDONLY/O_WRONLY/O_RDWR with O_CREAT, O_EXCL, O_TRUNC, O_APPEND,
 * O_DIRECTORY (Linux values; others ignored). mode (permission bits) is
 * used for O_CREAT as given: there is no umask. A directory opens only
 * read-only (else -EISDIR). Returns 0 and the open file in *f, or -errno.
 */
int vfs_open(const char *path, int flags, uint32_t mode, struct vfs_file **f);
/* Sends FLUSH (reporting its error) and drops the opener's reference; the
 * file is RELEASEd when no operation uses it any more. f is gone after. */
int vfs_close(struct vfs_file *f);
/* read/write at the file position, which moves (at NULL), or at *at, which
 * must not be negative, leaving the position alone (pread/pwrite). An
 * O_APPEND write at the position first asks the server for the size and
 * writes there. Counts above FD_MAX_RW are shortened. */
int64_t vfs_read(struct vfs_file *f, void *buf, size_t n, const int64_t *at);
int64_t vfs_write(struct vfs_file *f, const void *buf, size_t n, const int64_t *at);
/* Takes (delta 1) or drops (delta -1) a reference for a caller that uses f
 * across blocking without holding its descriptor (sendfile). Dropping the
 * last one releases the file (blocks). */
void vfs_file_ref(struct vfs_file *f, int delta);
/* SEEK_END uses the (cached) size. A directory only rewinds (0, SEEK_SET). */
int64_t vfs_lseek(struct vfs_file *f, int64_t off, int whence);
int vfs_fsync(struct vfs_file *f);
int vfs_ftruncate(struct vfs_file *f, int64_t len);

struct vfs_stat {
    uint64_t dev; /* mount number */
    struct fuse_attr_info attr;
};
int vfs_stat(const char *path, struct vfs_stat *st);
int vfs_fstat(struct vfs_file *f, struct vfs_stat *st);
int vfs_statfs(const char *path, struct fuse_statfs_info *s);

int vfs_mkdir(const char *path, uint32_t mode);
int vfs_unlink(const char *path);
int vfs_rmdir(const char *path);
/* Within one mount (else -EXDEV). */
int vfs_rename(const char *oldpath, const char *newpath);

struct vfs_dirent {
    uint64_t ino;
    uint64_t off;  /* cookie after this entry */
    uint32_t type; /* DT_* */
    char name[FUSE_NAME_MAX + 1];
};
/* Next entry of the open directory f: 1 and *d, 0 at the end, -errno
 * (-ENOTDIR if f is not a directory). "." and ".." are included as the
 * server sends them. */
int vfs_readdir(struct vfs_file *f, struct vfs_dirent *d);

#endif
