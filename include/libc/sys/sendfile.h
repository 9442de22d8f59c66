/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * sendfile (Linux's): moves up to count bytes of the file in_fd to the
 * socket out_fd without passing them through the caller. With offset, the
 * file is read from *offset, which ends up past the last byte sent, and the
 * file's position stays; without it the file is read from its position,
 * which moves. Returns the bytes sent (fewer than count at the end of the
 * file, when a non-blocking socket is full, or when the connection ends
 * after some were sent), or -1 with errno: EBADF (not open, or in_fd not
 * open for reading / out_fd not for writing), EINVAL (out_fd not a socket,
 * in_fd not a regular file, *offset negative), EAGAIN, EPIPE, ECONNRESET,
 * ENOTCONN, ENOMEM, EIO, or the file's read error. In Miura the bytes go
 * from the FUSE reply straight to the device (docs/networking.md).
 */
#ifndef MIURA_LIBC_SYS_SENDFILE_H
#define MIURA_LIBC_SYS_SENDFILE_H

#include <stddef.h>
#include <sys/types.h>

ssize_t sendfile(int out_fd, int in_fd, off_t *offset, size_t count);

#endif
