/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * `miura stats NAME` and the summary line of `miura ps -v`: miura-vsockd's
 * counters, read from its control socket in the run directory
 * (PLAN_VSOCKD_CONTROL; the protocol is common/control.h's).
 */
#ifndef MIURA_LAUNCHER_STATS_H
#define MIURA_LAUNCHER_STATS_H

#include <stddef.h>

/* miura stats NAME: prints the "key value" lines; exit status 0, 1, 2 or 125. */
int cmd_stats(int argc, char **argv);

/*
 * One line for `miura ps -v` from the counters of the instance in run_dir:
 * "connections A (peak P, limit L), queued Q, accepted N, refused R, guest
 * resets G, retries T"; or why there is none. Never fails.
 */
void stats_summary(const char *run_dir, char *out, size_t len);

/* The value of `key` in "key value\n" lines, or -1 if it is not there (exposed for tests). */
long long stats_value(const char *text, const char *key);

#endif
