/* SPDX-License-Identifier: BSD-2-Clause */
/* What apps/test_smp's files share: the CPU count, the check line, the
 * trimming of every CPU's heap, and the I/O checks (io.c). */
#ifndef MIURA_TEST_SMP_H
#define MIURA_TEST_SMP_H

extern unsigned ncpu;

/* Prints "name: ok ..." or "name: FAIL ..." (fmt takes a and b) and counts a failure. */
void check(const char *name, int ok, const char *fmt, unsigned long long a, unsigned long long b);
/* Trims every CPU's heap, so that heap_stats counts what is really live. */
void trim_all(void);

/* Files (with `fs=` on the command line: a share holding /shared.bin and an
 * empty /smp) and sockets (with `echo=PORT`: a host echo peer there) from
 * threads on every CPU at once. */
void io_checks(void);

#endif
