/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Sockets: AF_VSOCK stream sockets only (docs/networking.md). Values are
 * Linux x86-64's, so code written against this header builds on Linux too.
 *
 * Sockets and files share one descriptor table (lowest free number first);
 * read, write, close, fstat, fcntl and poll accept sockets too. There are
 * no signals: a send on a
 * connection whose peer is gone fails with EPIPE (MSG_NOSIGNAL is implied).
 * Every function returns -1 and sets errno on failure.
 */
#ifndef MIURA_LIBC_SYS_SOCKET_H
#define MIURA_LIBC_SYS_SOCKET_H

#include <stddef.h>
#include <sys/types.h>

typedef unsigned int socklen_t;
typedef unsigned short sa_family_t;

struct sockaddr {
    sa_family_t sa_family;
    char sa_data[14];
};

struct sockaddr_storage {
    sa_family_t ss_family;
    char ss_padding[118];
    unsigned long ss_align;
};

#define AF_UNSPEC 0
#define AF_VSOCK  40
#define PF_VSOCK  AF_VSOCK

#define SOCK_STREAM   1
#define SOCK_NONBLOCK 04000
#define SOCK_CLOEXEC  02000000 /* accepted, ignored (no exec) */

#define SOL_SOCKET   1
#define SO_REUSEADDR 2  /* accepted, ignored */
#define SO_TYPE      3  /* get only */
#define SO_ERROR     4  /* get only; reading clears it */
#define SO_SNDBUF    7  /* bytes the device may not have consumed yet */
#define SO_RCVBUF    8  /* the receive window (buf_alloc) of new connections */
#define SO_KEEPALIVE 9  /* accepted, ignored */
#define SO_RCVTIMEO  20 /* struct timeval; 0 = wait forever */
#define SO_SNDTIMEO  21 /* struct timeval; 0 = wait forever */

#define MSG_PEEK     0x2
#define MSG_DONTWAIT 0x40
#define MSG_WAITALL  0x100
#define MSG_NOSIGNAL 0x4000 /* accepted; there are no signals anyway */

#define SHUT_RD   0
#define SHUT_WR   1
#define SHUT_RDWR 2

#define SOMAXCONN 4096

int socket(int domain, int type, int protocol);
int bind(int fd, const struct sockaddr *addr, socklen_t len);
int listen(int fd, int backlog);
int accept(int fd, struct sockaddr *addr, socklen_t *len);
int accept4(int fd, struct sockaddr *addr, socklen_t *len, int flags);
int connect(int fd, const struct sockaddr *addr, socklen_t len);
ssize_t send(int fd, const void *buf, size_t n, int flags);
ssize_t recv(int fd, void *buf, size_t n, int flags);
int shutdown(int fd, int how);
int getsockname(int fd, struct sockaddr *addr, socklen_t *len);
int getpeername(int fd, struct sockaddr *addr, socklen_t *len);
int setsockopt(int fd, int level, int name, const void *val, socklen_t len);
int getsockopt(int fd, int level, int name, void *val, socklen_t *len);

#endif
