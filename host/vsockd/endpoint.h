/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Host endpoints, after Firecracker's hybrid vsock:
 *   --uds PATH      Unix listener; a client sends "CONNECT <port>\n", gets
 *                   "OK <host port>\n" once the guest accepts, then the stream.
 *   PATH_<port>     a guest connection to CID 2 port <port> is carried to the
 *                   Unix listener there, if any (else the guest gets RST).
 *   --publish [ADDR:]HOSTPORT:GUESTPORT   TCP listener carried to a guest port.
 *   --publish-fd FD:GUESTPORT             the same on an inherited listener.
 */
#ifndef VSOCKD_ENDPOINT_H
#define VSOCKD_ENDPOINT_H

#include <stdint.h>

#include "common/publish.h"
#include "vsockd/device.h"

/* A --publish listener: w.fd listens on spec's address (common/publish.h). */
struct tcp_listener {
    const struct publish_spec *spec;
    struct watch w;
    struct preopen_pool *pool; /* --preopen: the guest port's pool, else NULL */
};

/*
 * --publish-fd FD:GUESTPORT: a listening TCP socket inherited as FD, which its
 * owner keeps bound while it restarts the daemon (miura does). Checks that FD
 * is a listening stream socket, makes it non-blocking and close-on-exec, and
 * fills spec's address and host port from it. 0, or -1 with a message in err.
 */
int tcp_listener_adopt(int fd, struct publish_spec *spec, char *err, size_t errlen);

/* Accepts pending clients of a --uds or --publish listener. */
void endpoint_accept_uds(struct vsock_dev *d, int listen_fd);
void endpoint_accept_tcp(struct vsock_dev *d, struct tcp_listener *l);
/* Reads the CONNECT line of a Unix client (connection in CONN_CONNECT_LINE). */
void endpoint_connect_line(struct vsock_dev *d, struct vsock_conn *c);
/* Non-blocking connect to "<uds_path>_<port>"; fd, or -1 with errno (EAGAIN: the
 * listener's accept queue is full, try again later). */
int endpoint_connect_unix_port(const char *uds_path, uint32_t port);

#endif
