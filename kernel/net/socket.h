/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The host-test names of the socket API. Sockets get their descriptors
 * from the descriptor layer (lib/fd/fd.h), which also defines read, write,
 * close, fstat, fcntl and poll for them.
 */
#ifndef MIURA_NET_SOCKET_H
#define MIURA_NET_SOCKET_H

#include <stddef.h>
#include <sys/types.h>

#include "lib/fd/fd.h"
#include "lib/libc_name.h"

#ifdef MIURA_HOST_TEST
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
int miura_ioctl(int fd, unsigned long request, ...);
#endif

#endif
