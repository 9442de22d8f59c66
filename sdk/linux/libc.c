/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The libc subset's calls that differ in the Linux build (linux.h), bound
 * to the appliance's references by -Wl,--wrap=NAME:
 *
 *   - the calls that block in the guest (sockets, files, poll) run without
 *     the CPU, so the appliance's other threads go on meanwhile;
 *   - paths are inside the share, as in the guest: an absolute path is
 *     taken from the share's top (the current directory, `--share DIR`),
 *     and ".." stops there (lexically, as the guest's VFS does; a symbolic
 *     link in the directory can still lead out: this is a test harness,
 *     not a sandbox);
 *   - socket(AF_VSOCK) fails with EAFNOSUPPORT: there is no vsock here
 *     (miura_listen_port is the seam).
 */
#include <dirent.h>
#include <fcntl.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "linux.h"

/* ---- paths ---- */

/* Declares __real_NAME and defines __wrap_NAME(path, ...), which calls it
 * with the path in the share, without the CPU (`fail` for a bad path). */
#define PATH_CALL(type, fail, name, params, args)  \
    type __real_##name params;                     \
    type __wrap_##name params                      \
    {                                              \
        char in_share[LINUX_PATH_MAX];             \
        if (linux_share_path(path, in_share) < 0)  \
            return fail;                           \
        path = in_share;                           \
        return LINUX_BLOCKING(__real_##name args); \
    }

PATH_CALL(int, -1, stat, (const char *path, struct stat *st), (path, st))
PATH_CALL(int, -1, lstat, (const char *path, struct stat *st), (path, st))
PATH_CALL(int, -1, mkdir, (const char *path, mode_t mode), (path, mode))
PATH_CALL(int, -1, unlink, (const char *path), (path))
PATH_CALL(int, -1, rmdir, (const char *path), (path))
PATH_CALL(int, -1, statvfs, (const char *path, struct statvfs *s), (path, s))
PATH_CALL(int, -1, creat, (const char *path, mode_t mode), (path, mode))
PATH_CALL(DIR *, NULL, opendir, (const char *path), (path))

int __real_open(const char *path, int flags, ...);
int __wrap_open(const char *path, int flags, ...)
{
    char in_share[LINUX_PATH_MAX];
    mode_t mode = 0;
    if (flags & (O_CREAT | O_TMPFILE)) {
        va_list ap;
        va_start(ap, flags);
        mode = va_arg(ap, mode_t);
        va_end(ap);
    }
    if (linux_share_path(path, in_share) < 0)
        return -1;
    return LINUX_BLOCKING(__real_open(in_share, flags, mode));
}

int __real_rename(const char *from, const char *to);
int __wrap_rename(const char *from, const char *to)
{
    char a[LINUX_PATH_MAX], b[LINUX_PATH_MAX];
    if (linux_share_path(from, a) < 0 || linux_share_path(to, b) < 0)
        return -1;
    return LINUX_BLOCKING(__real_rename(a, b));
}

/* ---- calls that block ---- */

/* Declares __real_NAME and defines __wrap_NAME, which calls it without the CPU. */
#define BLOCKING_CALL(type, name, params, args)    \
    type __real_##name params;                     \
    type __wrap_##name params                      \
    {                                              \
        return LINUX_BLOCKING(__real_##name args); \
    }

BLOCKING_CALL(ssize_t, read, (int fd, void *buf, size_t n), (fd, buf, n))
BLOCKING_CALL(ssize_t, write, (int fd, const void *buf, size_t n), (fd, buf, n))
BLOCKING_CALL(ssize_t, pread, (int fd, void *buf, size_t n, off_t off), (fd, buf, n, off))
BLOCKING_CALL(ssize_t, pwrite, (int fd, const void *buf, size_t n, off_t off), (fd, buf, n, off))
BLOCKING_CALL(int, fsync, (int fd), (fd))
BLOCKING_CALL(int, fdatasync, (int fd), (fd))
BLOCKING_CALL(int, ftruncate, (int fd, off_t len), (fd, len))
BLOCKING_CALL(int, fstat, (int fd, struct stat *st), (fd, st))
BLOCKING_CALL(struct dirent *, readdir, (DIR * d), (d))
BLOCKING_CALL(int, accept, (int fd, struct sockaddr *a, socklen_t *len), (fd, a, len))
BLOCKING_CALL(int, accept4, (int fd, struct sockaddr *a, socklen_t *len, int flags),
              (fd, a, len, flags))
BLOCKING_CALL(int, connect, (int fd, const struct sockaddr *a, socklen_t len), (fd, a, len))
BLOCKING_CALL(ssize_t, send, (int fd, const void *buf, size_t n, int flags), (fd, buf, n, flags))
BLOCKING_CALL(ssize_t, recv, (int fd, void *buf, size_t n, int flags), (fd, buf, n, flags))
BLOCKING_CALL(int, poll, (struct pollfd * fds, nfds_t n, int timeout_ms), (fds, n, timeout_ms))
BLOCKING_CALL(ssize_t, sendfile, (int out, int in, off_t *off, size_t n), (out, in, off, n))

/* ---- no vsock ---- */

int __real_socket(int domain, int type, int protocol);
int __wrap_socket(int domain, int type, int protocol)
{
    if (domain == AF_VSOCK) {
        fprintf(stderr,
                "%s: no AF_VSOCK sockets in the Linux build: listen with miura_listen_port\n",
                linux_program);
        errno = EAFNOSUPPORT;
        return -1;
    }
    return __real_socket(domain, type, protocol);
}
