/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * POSIX-shaped file API over the VFS: each function calls its vfs_*
 * counterpart and turns a negative errno into errno and -1 (NULL for
 * opendir/readdir). Descriptors 0-2 are the console (see <unistd.h>).
 * The public contract is docs/filesystem.md.
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
#include "lib/console.h"

#define CONSOLE_FDS 3

#ifdef MIURA_GUEST
_Static_assert(sizeof(struct stat) == 144, "struct stat: Linux x86-64 layout");
_Static_assert(sizeof(off_t) == 8, "off_t is 64-bit");
#endif

struct miura_dir {
    int fd;
    struct dirent ent;
};

/* errno and -1 for a negative result; the result itself otherwise. */
static long ret(long rc)
{
    if (rc < 0) {
        errno = (int)-rc;
        return -1;
    }
    return rc;
}

static bool is_console(int fd)
{
    return fd >= 0 && fd < CONSOLE_FDS;
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
    return (int)ret(vfs_open(path, flags, mode));
}

int LIBC_NAME(creat)(const char *path, mode_t mode)
{
    return (int)ret(vfs_open(path, O_WRONLY | O_CREAT | O_TRUNC, mode));
}

/* Socket descriptors (from SOCK_FIRST_FD up) belong to the Networking unit;
 * these weak references are NULL in an image without it. */
#ifndef MIURA_HOST_TEST
#define SOCKET_FD_FIRST 1024
extern int sock_fd_is(int fd) __attribute__((weak));
extern ssize_t sock_fd_read(int fd, void *buf, size_t n) __attribute__((weak));
extern ssize_t sock_fd_write(int fd, const void *buf, size_t n) __attribute__((weak));
extern int sock_fd_close(int fd) __attribute__((weak));
static bool is_socket(int fd)
{
    return fd >= SOCKET_FD_FIRST && sock_fd_is && sock_fd_is(fd);
}
#else
static bool is_socket(int fd)
{
    (void)fd;
    return false;
}
#define sock_fd_read(fd, b, n)  (-EBADF)
#define sock_fd_write(fd, b, n) (-EBADF)
#define sock_fd_close(fd)       (-EBADF)
#endif

int LIBC_NAME(close)(int fd)
{
    if (is_socket(fd))
        return (int)ret(sock_fd_close(fd));
    if (is_console(fd))
        return 0; /* the console stays */
    return (int)ret(vfs_close(fd));
}

ssize_t LIBC_NAME(read)(int fd, void *buf, size_t n)
{
    if (is_socket(fd))
        return ret(sock_fd_read(fd, buf, n));
    if (is_console(fd))
        return fd == STDIN_FILENO ? 0 : ret(-EBADF); /* no console input: end of file */
    return ret(vfs_read(fd, buf, n));
}

ssize_t LIBC_NAME(write)(int fd, const void *buf, size_t n)
{
    if (is_socket(fd))
        return ret(sock_fd_write(fd, buf, n));
    if (is_console(fd)) {
        if (fd == STDIN_FILENO)
            return ret(-EBADF);
        if (n > VFS_MAX_RW)
            n = VFS_MAX_RW;
        console_write(buf, n);
        return (ssize_t)n;
    }
    return ret(vfs_write(fd, buf, n));
}

ssize_t LIBC_NAME(pread)(int fd, void *buf, size_t n, off_t off)
{
    if (is_console(fd))
        return ret(-ESPIPE);
    return ret(vfs_pread(fd, buf, n, off));
}

ssize_t LIBC_NAME(pwrite)(int fd, const void *buf, size_t n, off_t off)
{
    if (is_console(fd))
        return ret(-ESPIPE);
    return ret(vfs_pwrite(fd, buf, n, off));
}

off_t LIBC_NAME(lseek)(int fd, off_t off, int whence)
{
    if (is_console(fd))
        return ret(-ESPIPE);
    return ret(vfs_lseek(fd, off, whence));
}

int LIBC_NAME(fsync)(int fd)
{
    if (is_console(fd))
        return (int)ret(-EINVAL);
    return (int)ret(vfs_fsync(fd));
}

int LIBC_NAME(fdatasync)(int fd)
{
    return LIBC_NAME(fsync)(fd);
}

int LIBC_NAME(ftruncate)(int fd, off_t len)
{
    if (is_console(fd))
        return (int)ret(-EINVAL);
    return (int)ret(vfs_ftruncate(fd, len));
}

int LIBC_NAME(unlink)(const char *path)
{
    return (int)ret(vfs_unlink(path));
}

int LIBC_NAME(rmdir)(const char *path)
{
    return (int)ret(vfs_rmdir(path));
}

int LIBC_NAME(mkdir)(const char *path, mode_t mode)
{
    return (int)ret(vfs_mkdir(path, mode));
}

int LIBC_NAME(rename)(const char *oldpath, const char *newpath)
{
    return (int)ret(vfs_rename(oldpath, newpath));
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
    int rc = vfs_stat(path, &v);

    if (rc == 0)
        stat_fill(st, &v);
    return (int)ret(rc);
}

int LIBC_NAME(lstat)(const char *path, struct stat *st)
{
    return LIBC_NAME(stat)(path, st);
}

int LIBC_NAME(fstat)(int fd, struct stat *st)
{
    struct vfs_stat v;
    int rc;

    if (is_console(fd)) {
        memset(st, 0, sizeof(*st));
        st->st_mode = S_IFCHR | 0620;
        st->st_nlink = 1;
        st->st_blksize = 1024;
        return 0;
    }
    rc = vfs_fstat(fd, &v);
    if (rc == 0)
        stat_fill(st, &v);
    return (int)ret(rc);
}

int LIBC_NAME(statvfs)(const char *path, struct statvfs *s)
{
    struct fuse_statfs_info f;
    int rc = vfs_statfs(path, &f);

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
    return (int)ret(rc);
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
    fd = vfs_open(path, O_RDONLY | O_DIRECTORY, 0);
    if (fd < 0) {
        free(d);
        errno = -fd;
        return NULL;
    }
    d->fd = fd;
    return d;
}

struct dirent *LIBC_NAME(readdir)(struct miura_dir *d)
{
    struct vfs_dirent e;
    int rc;

    if (!d) {
        errno = EBADF;
        return NULL;
    }
    rc = vfs_readdir(d->fd, &e);
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
        (void)vfs_lseek(d->fd, 0, VFS_SEEK_SET);
}

int LIBC_NAME(closedir)(struct miura_dir *d)
{
    int rc;

    if (!d)
        return (int)ret(-EBADF);
    rc = vfs_close(d->fd);
    free(d);
    return (int)ret(rc);
}

int LIBC_NAME(dirfd)(struct miura_dir *d)
{
    return d ? d->fd : (int)ret(-EINVAL);
}
