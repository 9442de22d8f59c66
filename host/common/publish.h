/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * --publish [ADDR:]HOSTPORT:GUESTPORT, as miura, miura-vsockd and miura-proxy
 * take it: a TCP listener on ADDR:HOSTPORT carried to guest vsock port
 * GUESTPORT; and the host's listening sockets.
 */
#ifndef HOST_COMMON_PUBLISH_H
#define HOST_COMMON_PUBLISH_H

#include <stddef.h>
#include <stdint.h>

#define PUBLISH_MAX 64 /* --publish options one program takes */
/* What a --publish value must look like (for error messages). */
#define PUBLISH_SYNTAX "[ADDR:]HOSTPORT:GUESTPORT (IPv4 ADDR, ports 1..65535 and 1..4294967294)"

struct publish_spec {
    char addr[16];       /* dotted quad, NUL-terminated; default 127.0.0.1 */
    uint16_t host_port;  /* 1..65535 */
    uint32_t guest_port; /* 1..0xfffffffe (vsock ports are 32-bit; -1 is "any") */
};

/* Parses a NUL-terminated --publish value; 0, or -1 (then *p is unspecified). */
int publish_parse(const char *s, struct publish_spec *p);

/*
 * The backlog of every listening socket: a burst of clients waits in the host
 * kernel's queue while the program is at its connection limit (the kernel
 * caps it at net.core.somaxconn, 4096 by default since Linux 5.4).
 */
#define LISTEN_BACKLOG 4096

/* A non-blocking TCP listener for p; fd, or -1 with a message in err. */
int publish_listen(const struct publish_spec *p, char *err, size_t errlen);
/*
 * A non-blocking Unix stream listener at path, replacing a stale socket file
 * (never any other kind of file, nor a socket a process listens on); fd, or
 * -1 with a message in err.
 */
int unix_listen(const char *path, char *err, size_t errlen);
/*
 * Takes an inherited listening stream socket fd (of the given family:
 * AF_INET, AF_UNIX) as ours: non-blocking, close-on-exec. 0, or -1 with
 * "OPTION FD: why" in err.
 */
int listener_adopt(int fd, int family, const char *option, char *err, size_t errlen);

/*
 * Clients waiting in a listening socket's kernel queue (accepted by the
 * kernel, not yet by us): TCP_INFO for TCP, sock_diag for Unix sockets.
 * -1 if the kernel does not say.
 */
int listen_queued(int fd);
/*
 * Opens, once, the sock_diag socket listen_queued asks about Unix listeners
 * (otherwise it opens one per query). The kernel answers only for sockets of
 * the asker's network namespace: a program that confines itself into a
 * namespace of its own (common/confine.h) calls this first. 0, or -1 with errno.
 */
int listen_queued_open(void);

/*
 * Raises the soft RLIMIT_NOFILE to `want` descriptors if the hard limit
 * allows; returns the limit now in force.
 */
unsigned long raise_fd_limit(unsigned long want);

#endif
