/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Logging to stderr, one line each, prefixed with the program's name:
 * errors and notices always, connection events at -v, details at -vv.
 */
#ifndef HOST_COMMON_LOG_H
#define HOST_COMMON_LOG_H

#include <stdint.h>

extern const char *log_prog; /* the prefix, e.g. "miura-vsockd" (set by main) */
extern int log_level;        /* -1 quiet (tests, fuzzing), 0 errors, 1 events, 2 debug */

void log_msg(int level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Makes a message one line: control characters (quoted from input) become '?'. */
void log_one_line(char *s);

#define log_error(...) log_msg(0, __VA_ARGS__)
#define log_event(...) log_msg(1, __VA_ARGS__)
#define log_debug(...) log_msg(2, __VA_ARGS__)

/*
 * Rate limiting: a message written at most once per interval. log_due says
 * whether to write it now (true the first time), and counts the calls it
 * said no to in between, which *skipped returns (then resets).
 */
struct log_limit {
    uint64_t last_ms; /* when it last said yes */
    uint64_t skipped; /* calls since then */
    int said;         /* it has said yes before */
};
int log_due(struct log_limit *l, uint64_t now_ms, uint64_t interval_ms, uint64_t *skipped);

#endif
