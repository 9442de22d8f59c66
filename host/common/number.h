/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Decimal numbers from the command line and from peers: ASCII digits only
 * (no sign, no blanks, no base prefix, no suffix unless the caller parses one).
 */
#ifndef HOST_COMMON_NUMBER_H
#define HOST_COMMON_NUMBER_H

#include <stdint.h>

/*
 * Parses the leading digits of s into *v. Returns how many digits there were,
 * or -1 if there are none or the value exceeds max (or 2^64-1). Reads no
 * further than the first non-digit.
 */
int parse_digits(const char *s, uint64_t max, uint64_t *v);

/* The whole of s as a number from min to max; 0, or -1 (then *v is unchanged). */
int parse_decimal(const char *s, uint64_t min, uint64_t max, uint64_t *v);

#endif
