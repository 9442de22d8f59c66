/* SPDX-License-Identifier: BSD-2-Clause */
/* The clock the host programs measure timeouts and intervals with. */
#ifndef HOST_COMMON_CLOCK_H
#define HOST_COMMON_CLOCK_H

#include <stdint.h>

/* Milliseconds on CLOCK_MONOTONIC: never goes back, unaffected by date changes. */
uint64_t monotonic_ms(void);

/* Microseconds on the same clock (start-up traces). */
uint64_t monotonic_us(void);

#endif
