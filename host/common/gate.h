/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Backpressure at the door. A program's listeners are watched only while it
 * has room for another connection: at its connection limit (or for a moment
 * when it ran out of descriptors) it stops watching them, so new clients wait
 * in the host kernel's listen queue (LISTEN_BACKLOG deep) instead of being
 * accepted and dropped; when a connection ends it watches them again and
 * takes the queue in order. Nobody is refused while the host has room.
 *
 * The gate only changes what epoll reports (loop_mod), never a socket; the
 * program calls gate_update whenever its number of connections changed or a
 * hold may have ended, and asks gate_open before each accept.
 */
#ifndef HOST_COMMON_GATE_H
#define HOST_COMMON_GATE_H

#include <stdbool.h>
#include <stdint.h>

#include "common/log.h"
#include "common/loop.h"
#include "common/publish.h"

#define GATE_LISTENERS_MAX (PUBLISH_MAX + 2) /* --publish ones, --uds, one spare */
#define GATE_LOG_EVERY_MS  10000             /* the limit's log line, at most this often */

struct accept_gate {
    struct watch *listener[GATE_LISTENERS_MAX];
    unsigned nlisteners;
    unsigned limit;      /* connections at most (--max-conns) */
    uint64_t hold_until; /* ms: accepting stopped until then (out of fds); 0 none */
    bool paused;         /* the listeners are not watched now */
    uint64_t pauses;     /* times the limit stopped accepting */
    uint64_t holds;      /* times running out of descriptors or memory did */
    struct log_limit limit_log, hold_log;
};

void gate_init(struct accept_gate *g, unsigned limit);
/* Adds a listener (watched with EPOLLIN while the gate is open); -1 if full. */
int gate_add(struct accept_gate *g, struct watch *listener);
/* Whether one more client may be accepted now, with `active` connections open. */
bool gate_open(const struct accept_gate *g, unsigned active, uint64_t now);
/*
 * Stops or resumes watching the listeners to match gate_open. Pausing for the
 * limit writes one log line (at most every GATE_LOG_EVERY_MS, saying how many
 * pauses it stands for).
 */
void gate_update(struct accept_gate *g, unsigned active, uint64_t now);
/*
 * Out of descriptors or memory (errno err in `what`): stops accepting for
 * hold_ms, with a log line at most every GATE_LOG_EVERY_MS.
 */
void gate_hold(struct accept_gate *g, uint64_t now, uint64_t hold_ms, const char *what, int err);
/* When a hold ends (call gate_update then), or 0 if none is running. */
uint64_t gate_deadline(const struct accept_gate *g);
/* Clients waiting in the listeners' kernel queues now (those it can count; see listen_queued). */
unsigned gate_queued(const struct accept_gate *g);

#endif
