/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The socket layer's descriptor interface, for the POSIX file calls
 * (fs/posix.c dispatches read/write/close/poll of socket fds here), and the
 * host-test names of the socket API.
 *
 * Socket descriptors are SOCK_FIRST_FD .. SOCK_FIRST_FD + SOCK_MAX_FDS - 1;
 * the Filesystem unit owns 0..1023. The sock_fd_* functions return a
 * negative errno on failure (EBADF if fd is not an open socket).
 */
#ifndef MIURA_NET_SOCKET_H
#define MIURA_NET_SOCKET_H

#include <stddef.h>
#include <sys/types.h>

#include "lib/libc_name.h"

#define SOCK_FIRST_FD 1024
#define SOCK_MAX_FDS  4096

/* 1 if fd is an open socket, else 0. */
int sock_fd_is(int fd);
ssize_t sock_fd_read(int fd, void *buf, size_t n);
ssize_t sock_fd_write(int fd, const void *buf, size_t n);
int sock_fd_close(int fd);
/* The ready POLL* bits of fd among events (plus POLLERR/POLLHUP), or
 * POLLNVAL. Never blocks. */
short sock_fd_poll(int fd, short events);
/* F_GETFL/F_SETFL/F_GETFD/F_SETFD on a socket. */
int sock_fd_fcntl(int fd, int cmd, long arg);

/*
 * Optional hook from the Filesystem unit: nonzero if fd (0..1023) is open.
 * poll() treats open files as always ready and reports POLLNVAL for others;
 * without the hook every fd below SOCK_FIRST_FD counts as open.
 */
int vfs_fd_is_open(int fd) __attribute__((weak));

#ifdef MIURA_HOST_TEST
#include <poll.h>
#include <sys/socket.h>

int miura_socket(int domain, int type, int protocol);
int miura_bind(int fd, const struct sockaddr *addr, socklen_t len);
int miura_listen(int fd, int backlog);
int miura_accept(int fd, struct sockaddr *addr, socklen_t *len);
int miura_accept4(int fd, struct sockaddr *addr, socklen_t *len, int flags);
int miura_connect(int fd, const struct sockaddr *addr, socklen_t len);
ssize_t miura_send(int fd, const void *buf, size_t n, int flags);
ssize_t miura_recv(int fd, void *buf, size_t n, int flags);
int miura_shutdown(int fd, int how);
int miura_getsockname(int fd, struct sockaddr *addr, socklen_t *len);
int miura_getpeername(int fd, struct sockaddr *addr, socklen_t *len);
int miura_setsockopt(int fd, int level, int name, const void *val, socklen_t len);
int miura_getsockopt(int fd, int level, int name, void *val, socklen_t *len);
int miura_poll(struct pollfd *fds, nfds_t n, int timeout_ms);
int miura_fcntl(int fd, int cmd, ...);
#endif

#endif
