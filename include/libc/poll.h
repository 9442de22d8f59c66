/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * poll() over any descriptor (Linux values). Files and the console are
 * always ready for reading and writing; an fd that is not open gives
 * POLLNVAL.
 */
#ifndef MIURA_LIBC_POLL_H
#define MIURA_LIBC_POLL_H

typedef unsigned long nfds_t;

struct pollfd {
    int fd;        /* a negative fd is skipped (revents 0) */
    short events;  /* requested */
    short revents; /* returned; POLLERR, POLLHUP, POLLNVAL always reported */
};

#define POLLIN    0x001
#define POLLPRI   0x002
#define POLLOUT   0x004
#define POLLERR   0x008
#define POLLHUP   0x010
#define POLLNVAL  0x020
#define POLLRDHUP 0x2000

/* Waits until one fd is ready or timeout_ms passes (-1: forever, 0: don't
 * wait). Returns the number of entries with revents != 0, 0 on timeout, -1
 * with errno (EINVAL, ENOMEM). */
int poll(struct pollfd *fds, nfds_t n, int timeout_ms);

#endif
