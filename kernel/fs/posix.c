/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * POSIX-shaped file API over the VFS: each function calls its vfs_*
 * counterpart and turns a negative errno into errno and -1 (NULL for
 * opendir/readdir). Open files get their descriptors from the descriptor
 * layer (lib/fd), which also dispatches close, read, write and fstat to the
 * file ops below (a file has no poll op: it is always ready); sendfile()
 * hands a file's read to the out descriptor's kind. Every call runs in
 * the I/O section (IO_CALL). The public contract is docs/filesystem.md.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "fs/posix.h"
#include "fs/vfs.h"
#include "lib/fd/fd.h"
#include "lib/fd/fd_port.h"
#include "lib/posix_result.h"

#ifdef MIURA_GUEST
_Static_assert(sizeof(struct stat) == 144, "struct stat: Linux x86-64 layout");
_Static_assert(sizeof(off_t) == 8, "off_t is 64-bit");
#endif

struct miura_dir {
    int fd;
    struct dirent ent;
};

static int file_close(struct fd_object *o);
static const struct fd_kind file_kind = {file_close, S_IFREG};

static struct vfs_file *file_of(struct fd_object *o)
{
    return (struct vfs_file *)o; /* its first member (vfs.h) */
}

/* The open file at fd: 0 and *f; -EBADF if fd is not open, `other` if it is
 * not a file (the console, a socket). */
static int file_at(int fd, int other, struct vfs_file **f)
{
    struct fd_object *o = fd_lookup(fd);

    if (!o)
        return -EBADF;
    if (o->kind != &file_kind)
        return other;
    *f = file_of(o);
    return 0;
}

/* vfs_open, and a descriptor for the file. */
static int open_fd(const char *path, int flags, mode_t mode)
{
    struct vfs_file *f = NULL;
    int rc = vfs_open(path, flags, mode, &f); /* blocks */

    if (rc < 0)
        return rc;
    ((struct fd_object *)f)->kind = &file_kind;
    rc = fd_install((struct fd_object *)f);
    if (rc < 0)
        (void)vfs_close(f); /* no number left: the file goes */
    return rc;
}

int LIBC_NAME(open)(const char *path, int flags, ...)
{
    mode_t mode = 0;

    if (flags & O_CREAT) {
        va_list ap;

        va_start(ap, flags);
        mode = va_arg(ap, mode_t);
        va_end(ap);
    }
    return (int)posix_result(IO_CALL(open_fd(path, flags, mode)));
}

int LIBC_NAME(creat)(const char *path, mode_t mode)
{
    return (int)posix_result(IO_CALL(open_fd(path, O_WRONLY | O_CREAT | O_TRUNC, mode)));
}

/* pread and pwrite use the file's read and write ops (below) with a
 * position: one path for both calls. They reach them directly, not through
 * the descriptor layer: an image that only preads links no read op of
 * another kind. */
static int64_t file_read(struct fd_object *o, void *buf, size_t n, const int64_t *at);
static int64_t file_write(struct fd_object *o, const void *buf, size_t n, const int64_t *at);

static int64_t do_pread(int fd, void *buf, size_t n, int64_t at)
{
    struct vfs_file *f = NULL;
    int rc = file_at(fd, -ESPIPE, &f);

    return rc < 0 ? rc : file_read((struct fd_object *)f, buf, n, &at);
}

ssize_t LIBC_NAME(pread)(int fd, void *buf, size_t n, off_t off)
{
    return posix_result(IO_CALL(do_pread(fd, buf, n, off)));
}

static int64_t do_pwrite(int fd, const void *buf, size_t n, int64_t at)
{
    struct vfs_file *f = NULL;
    int rc = file_at(fd, -ESPIPE, &f);

    return rc < 0 ? rc : file_write((struct fd_object *)f, buf, n, &at);
}

ssize_t LIBC_NAME(pwrite)(int fd, const void *buf, size_t n, off_t off)
{
    return posix_result(IO_CALL(do_pwrite(fd, buf, n, off)));
}

/* The out descriptor's kind (a socket) reads the file with file_read, which
 * a FUSE READ serves straight into its buffer; the file is held meanwhile. */
static int64_t do_sendfile(int out_fd, int in_fd, off_t *offset, size_t count)
{
    struct fd_object *out = fd_lookup(out_fd);
    struct vfs_file *f = NULL;
    int64_t pos = offset ? *offset : 0;
    int64_t rc = file_at(in_fd, -EINVAL, &f);

    if (rc == 0 && (!out || (out->flags & O_ACCMODE) == O_RDONLY ||
                    (((struct fd_object *)f)->flags & O_ACCMODE) == O_WRONLY))
        rc = -EBADF;
    else if (rc == 0 && pos < 0)
        rc = -EINVAL;
    if (rc < 0)
        return rc;
    vfs_file_ref(f, 1);
    rc = fd_sendfile(out, (struct fd_object *)f, file_read, offset ? &pos : NULL,
                     count < FD_MAX_RW ? count : FD_MAX_RW);
    vfs_file_ref(f, -1);
    if (offset)
        *offset = pos;
    return rc;
}

ssize_t LIBC_NAME(sendfile)(int out_fd, int in_fd, off_t *offset, size_t count)
{
    return posix_result(IO_CALL(do_sendfile(out_fd, in_fd, offset, count)));
}

static int64_t do_lseek(int fd, off_t off, int whence)
{
    struct vfs_file *f = NULL;
    int rc = file_at(fd, -ESPIPE, &f);

    return rc < 0 ? rc : vfs_lseek(f, off, whence);
}

off_t LIBC_NAME(lseek)(int fd, off_t off, int whence)
{
    return posix_result(IO_CALL(do_lseek(fd, off, whence)));
}

static int do_fsync(int fd)
{
    struct vfs_file *f = NULL;
    int rc = file_at(fd, -EINVAL, &f);

    return rc < 0 ? rc : vfs_fsync(f);
}

int LIBC_NAME(fsync)(int fd)
{
    return (int)posix_result(IO_CALL(do_fsync(fd)));
}

int LIBC_NAME(fdatasync)(int fd)
{
    return LIBC_NAME(fsync)(fd);
}

static int do_ftruncate(int fd, off_t len)
{
    struct vfs_file *f = NULL;
    int rc = file_at(fd, -EINVAL, &f);

    return rc < 0 ? rc : vfs_ftruncate(f, len);
}

int LIBC_NAME(ftruncate)(int fd, off_t len)
{
    return (int)posix_result(IO_CALL(do_ftruncate(fd, len)));
}

int LIBC_NAME(unlink)(const char *path)
{
    return (int)posix_result(IO_CALL(vfs_unlink(path)));
}

int LIBC_NAME(rmdir)(const char *path)
{
    return (int)posix_result(IO_CALL(vfs_rmdir(path)));
}

int LIBC_NAME(mkdir)(const char *path, mode_t mode)
{
    return (int)posix_result(IO_CALL(vfs_mkdir(path, mode)));
}

int LIBC_NAME(rename)(const char *oldpath, const char *newpath)
{
    return (int)posix_result(IO_CALL(vfs_rename(oldpath, newpath)));
}

/* ------------------------------------------------------------------ status */

static void stat_fill(struct stat *st, const struct vfs_stat *v)
{
    const struct fuse_attr_info *a = &v->attr;

    memset(st, 0, sizeof(*st));
    st->st_dev = v->dev;
    st->st_ino = a->ino;
    st->st_mode = a->mode;
    st->st_nlink = a->nlink;
    st->st_uid = a->uid;
    st->st_gid = a->gid;
    st->st_rdev = a->rdev;
    st->st_size = (off_t)a->size;
    st->st_blksize = a->blksize ? a->blksize : 4096;
    st->st_blocks = (blkcnt_t)a->blocks;
    st->st_atim.tv_sec = a->atime;
    st->st_atim.tv_nsec = a->atime_nsec;
    st->st_mtim.tv_sec = a->mtime;
    st->st_mtim.tv_nsec = a->mtime_nsec;
    st->st_ctim.tv_sec = a->ctime;
    st->st_ctim.tv_nsec = a->ctime_nsec;
}

int LIBC_NAME(stat)(const char *path, struct stat *st)
{
    struct vfs_stat v;
    int rc = IO_CALL(vfs_stat(path, &v));

    if (rc == 0)
        stat_fill(st, &v);
    return (int)posix_result(rc);
}

int LIBC_NAME(lstat)(const char *path, struct stat *st)
{
    return LIBC_NAME(stat)(path, st);
}

int LIBC_NAME(statvfs)(const char *path, struct statvfs *s)
{
    struct fuse_statfs_info f;
    int rc = IO_CALL(vfs_statfs(path, &f));

    if (rc == 0) {
        memset(s, 0, sizeof(*s));
        s->f_bsize = f.bsize;
        s->f_frsize = f.frsize ? f.frsize : f.bsize;
        s->f_blocks = f.blocks;
        s->f_bfree = f.bfree;
        s->f_bavail = f.bavail;
        s->f_files = f.files;
        s->f_ffree = f.ffree;
        s->f_favail = f.ffree;
        s->f_namemax = f.namelen;
    }
    return (int)posix_result(rc);
}

/* ------------------------------------------------------------------ directories */

struct miura_dir *LIBC_NAME(opendir)(const char *path)
{
    struct miura_dir *d = malloc(sizeof(*d));
    int fd;

    if (!d) {
        errno = ENOMEM;
        return NULL;
    }
    fd = IO_CALL(open_fd(path, O_RDONLY | O_DIRECTORY, 0));
    if (fd < 0) {
        free(d);
        errno = -fd;
        return NULL;
    }
    d->fd = fd;
    return d;
}

static int do_readdir(int fd, struct vfs_dirent *e)
{
    struct vfs_file *f = NULL;
    int rc = file_at(fd, -EBADF, &f);

    return rc < 0 ? rc : vfs_readdir(f, e);
}

struct dirent *LIBC_NAME(readdir)(struct miura_dir *d)
{
    struct vfs_dirent e;
    int rc;

    if (!d) {
        errno = EBADF;
        return NULL;
    }
    rc = IO_CALL(do_readdir(d->fd, &e));
    if (rc <= 0) {
        if (rc < 0)
            errno = -rc; /* at the end errno is left alone, as POSIX says */
        return NULL;
    }
    memset(&d->ent, 0, sizeof(d->ent));
    d->ent.d_ino = e.ino;
    d->ent.d_off = (off_t)e.off;
    d->ent.d_reclen = sizeof(d->ent);
    d->ent.d_type = (unsigned char)e.type;
    memcpy(d->ent.d_name, e.name, sizeof(e.name));
    return &d->ent;
}

void LIBC_NAME(rewinddir)(struct miura_dir *d)
{
    if (d)
        (void)IO_CALL(do_lseek(d->fd, 0, VFS_SEEK_SET));
}

int LIBC_NAME(closedir)(struct miura_dir *d)
{
    int rc;

    if (!d)
        return (int)posix_result(-EBADF);
    rc = IO_CALL(fd_close(d->fd));
    free(d);
    return (int)posix_result(rc);
}

int LIBC_NAME(dirfd)(struct miura_dir *d)
{
    return d ? d->fd : (int)posix_result(-EINVAL);
}

/* ------------------------------------------------------------------ descriptor ops */

static int64_t file_read(struct fd_object *o, void *buf, size_t n, const int64_t *at)
{
    return vfs_read(file_of(o), buf, n, at);
}
FD_OP(read, file_kind, file_read);

static int64_t file_write(struct fd_object *o, const void *buf, size_t n, const int64_t *at)
{
    return vfs_write(file_of(o), buf, n, at);
}
FD_OP(write, file_kind, file_write);

static int file_close(struct fd_object *o)
{
    return vfs_close(file_of(o));
}

static int file_fstat(struct fd_object *o, struct stat *st)
{
    struct vfs_stat v;
    int rc = vfs_fstat(file_of(o), &v);

    if (rc == 0)
        stat_fill(st, &v);
    return rc;
}
FD_OP(fstat, file_kind, file_fstat);
