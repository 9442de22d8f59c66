/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * read/write/close for an image that has the Networking unit but not the
 * Filesystem unit: socket descriptors, and the console on fds 1 and 2. When
 * the Filesystem unit is linked, its strong definitions (fs/posix.c) take
 * over and forward socket descriptors to the same sock_fd_* functions.
 */
#include <errno.h>
#include <unistd.h>

#include "lib/console.h"
#include "net/socket.h"

static ssize_t result(ssize_t rc)
{
    if (rc < 0) {
        errno = (int)-rc;
        return -1;
    }
    return rc;
}

__attribute__((weak)) ssize_t read(int fd, void *buf, size_t n)
{
    if (fd == 0)
        return 0;
    return result(sock_fd_read(fd, buf, n));
}

__attribute__((weak)) ssize_t write(int fd, const void *buf, size_t n)
{
    if (fd == 1 || fd == 2) {
        console_write(buf, n);
        return (ssize_t)n;
    }
    return result(sock_fd_write(fd, buf, n));
}

__attribute__((weak)) int close(int fd)
{
    if (fd >= 0 && fd <= 2)
        return 0;
    return (int)result(sock_fd_close(fd));
}
