/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The console lib writes to. The arch unit implements it (serial port); host
 * tests provide a fake. lib never implements it.
 */
#ifndef MIURA_LIB_CONSOLE_H
#define MIURA_LIB_CONSOLE_H

#include <stdbool.h>
#include <stddef.h>

/* Writes n bytes of s (not NUL-terminated) to the console, all of them,
 * before returning. Safe to call from any CPU; output of concurrent callers
 * may interleave only at call boundaries if the implementation says so. */
void console_write(const char *s, size_t n);

/* A faster console than the arch's own, where the image links one (the
 * virtio-console driver). console_write hands it the bytes under its lock;
 * it returns how many it took (fewer, or 0, when it has no device or its
 * device stops taking them: console_write writes the rest itself). With
 * n == 0 it waits, bounded, until what it was given has left (before a
 * crash report). Weak: an image without it tests its address. */
size_t console_fast_write(const char *s, size_t n) __attribute__((weak));

#endif
