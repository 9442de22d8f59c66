/* SPDX-License-Identifier: BSD-2-Clause */
/* Host stand-ins for mm_port.h, and helpers for the mm tests. */
#ifndef MIURA_TEST_MM_SHIM_H
#define MIURA_TEST_MM_SHIM_H

#include <stddef.h>

/* mm_cpu_id() returns this (per host thread). */
extern __thread unsigned mm_test_cpu;
/* mm_cpu_count() returns this. */
extern unsigned mm_test_cpus;
/* mm_report() calls so far, and the last message. */
extern int mm_test_reports;
extern char mm_test_last_report[256];

/* size bytes of fresh memory (mmap, MAP_NORESERVE) aligned to the largest
 * power of two <= size (at most 1 GiB); aborts on failure. */
void *mm_test_memory(size_t size);

#endif
