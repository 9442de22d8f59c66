/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The console lib writes to. The arch unit implements it (serial port); host
 * tests provide a fake. lib never implements it.
 */
#ifndef MIURA_LIB_CONSOLE_H
#define MIURA_LIB_CONSOLE_H

#include <stddef.h>

/* Writes n bytes of s (not NUL-terminated) to the console, all of them,
 * before returning. Safe to call from any CPU; output of concurrent callers
 * may interleave only at call boundaries if the implementation says so. */
void console_write(const char *s, size_t n);

#endif
