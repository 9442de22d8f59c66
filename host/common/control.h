/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * A program's control socket (--control PATH): a Unix stream socket where a
 * client writes one command line and reads the answer until the program
 * closes the connection. One command so far:
 *
 *   "stats\n"  ->  "key value\n" lines (the program's counters), then close
 *
 * Anything else is answered with one "error ..." line. The socket serves at
 * most CONTROL_CLIENTS clients at once (a new one replaces the oldest), reads
 * at most CONTROL_LINE_MAX bytes of a command, and never blocks the program:
 * an answer that does not fit the client's socket buffer is cut short.
 */
#ifndef HOST_COMMON_CONTROL_H
#define HOST_COMMON_CONTROL_H

#include <stddef.h>
#include <stdint.h>

#include "common/loop.h"

#define CONTROL_CLIENTS  4
#define CONTROL_LINE_MAX 64
#define CONTROL_REPLY    4096 /* bytes of an answer at most */

/* Writes the program's "key value\n" lines into buf (len bytes); returns their length. */
typedef size_t (*control_stats_fn)(char *buf, size_t len);

struct control {
    struct watch listen_w; /* fd -1 when there is no control socket */
    struct control_client {
        struct watch w; /* fd -1 when free */
        char line[CONTROL_LINE_MAX];
        unsigned len;
        uint64_t since; /* arrival order, for replacing the oldest */
    } client[CONTROL_CLIENTS];
    uint64_t arrivals;
    control_stats_fn stats;
    const char *path;
};

/*
 * Listens on path (replacing a stale socket); the listener's watch gets
 * listen_kind, clients' watches client_kind (the program routes their events
 * to control_accept and control_input). 0, or -1 with a message in err.
 */
int control_open(struct control *c, const char *path, unsigned listen_kind, unsigned client_kind,
                 control_stats_fn stats, char *err, size_t errlen);
void control_accept(struct control *c);
void control_input(struct control *c, struct watch *w);
/* Closes every client and the listener, and removes the socket file. */
void control_close(struct control *c);

/* Appends "key value\n" to buf at *off (bounded by len). */
void control_kv(char *buf, size_t len, size_t *off, const char *key, uint64_t value);

/*
 * The client side (miura stats): sends `cmd` ("stats") to the control socket
 * at path and reads the answer into out (NUL-terminated) until the program
 * closes, waiting at most timeout_ms. 0, or -1 with errno.
 */
int control_query(const char *path, const char *cmd, char *out, size_t len, int timeout_ms);

#endif
