/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The published ports' listening sockets, which the launcher owns: it opens
 * them once, hands them to each miura-vsockd it starts (--publish-fd), and
 * keeps them bound across restarts. A listener holds new clients back
 * (listener_block) whenever no guest is ready to take them: from its
 * opening until the guest accepts connections on the port, from a part's
 * end until the restarted guest does, and during a graceful stop. A client
 * held back is not refused: its SYN goes unanswered and is retried by its
 * kernel (after 1 s, 3 s, 7 s, ...) until the port takes it.
 */
#ifndef MIURA_LAUNCHER_LISTENERS_H
#define MIURA_LAUNCHER_LISTENERS_H

#include <stdint.h>

#include "common/vm_args.h"

/* The accept queue each listener asks for (the kernel caps it at somaxconn). */
#define LISTENER_BACKLOG 4096

/*
 * Binds and listens on each spec (close-on-exec, SO_REUSEADDR), held back
 * (listener_block) until the caller lets clients in. Returns 0
 * with fds[i] set, or -1 with every socket closed and a one-line cause in
 * err ("--publish 127.0.0.1:8080: Address already in use").
 */
int listeners_open(const struct publish_spec *specs, unsigned n, int *fds, char *err,
                   size_t errlen);
void listeners_close(int *fds, unsigned n);

/*
 * Stops new clients from reaching a listener while its connections finish:
 * a socket filter that drops every incoming packet for the listener (SYNs
 * and handshake ACKs; established connections are sockets of their own and
 * keep working). A client then retries its SYN until the listener closes.
 * Returns 0 or -1 with errno.
 */
int listener_block(int fd);
/* Lets clients reach the listener again (removes the filter). */
int listener_unblock(int fd);

/*
 * Counts the connections still in flight on the given local ports, from the
 * text of /proc/net/tcp: the ones a process holds (inode != 0, any state but
 * LISTEN) and the ones waiting in an accept queue (ESTABLISHED, inode 0).
 * A socket its process already closed (FIN_WAIT, TIME_WAIT, ... with inode
 * 0) is the kernel's to finish and does not count. Pure; bad lines are skipped.
 */
unsigned tcp_inflight_parse(const char *text, const uint16_t *ports, unsigned n);

/*
 * The same from the kernel's socket diagnostics (NETLINK_SOCK_DIAG, with
 * TCP_INFO), which also tell an idle keep-alive connection from a busy one:
 * ESTABLISHED, nothing queued either way, the last data was ours (sent after
 * the last received, or in the same clock tick: the kernel keeps these times
 * in scheduler ticks, and a fast answer shows the same time as its request)
 * and nothing moved for TCP_IDLE_QUIET_MS. Such a
 * connection waits for a next request that may never come (a browser keeps
 * one open for minutes) and does not hold a stop. tcp_diag_count counts the
 * busy ones in one buffer of the dump's netlink messages (pure: lengths are
 * checked, bad messages end the walk); returns 1 when the buffer held the
 * dump's end (NLMSG_DONE), -1 on NLMSG_ERROR, 0 to read on.
 */
#define TCP_IDLE_QUIET_MS 500
int tcp_diag_count(const void *buf, size_t len, const uint16_t *ports, unsigned n, unsigned *count);

/* The busy connections on this host's ports: from the socket diagnostics,
 * or from /proc/net/tcp where those fail (then every connection counts); 0
 * if neither can be read. */
unsigned tcp_inflight(const uint16_t *ports, unsigned n);

#endif
