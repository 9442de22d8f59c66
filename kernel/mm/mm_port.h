/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * What the Memory unit needs from the rest of the kernel. The arch and
 * Process units implement these in the guest; host tests provide a shim.
 */
#ifndef MIURA_MM_PORT_H
#define MIURA_MM_PORT_H

#include "miura/miura.h" /* MIURA_MAX_CPUS */

/* CPU ids run from 0 to mm_cpu_count() - 1, and never reach MIURA_MAX_CPUS. */

/* The calling CPU's id. Must be cheap: the heap's fast path calls it. */
unsigned mm_cpu_id(void);

/* The number of CPUs that may call into mm. */
unsigned mm_cpu_count(void);

/*
 * Reports a misuse (double free, foreign pointer, bad page range) or a
 * resource problem. Prints "mm: " and the formatted message on the console;
 * it must not allocate and must return (mm ignores the bad request and goes
 * on). The format is printf's; the message carries no trailing newline.
 */
void mm_report(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/*
 * A global lock around the page allocator (boot and slow paths only). Not
 * recursive; mm never holds it while calling anything but its own code and
 * mm_report.
 */
void mm_lock(void);
void mm_unlock(void);

#endif
