/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The formatter behind the printf family.
 */
#ifndef MIURA_LIB_FORMAT_H
#define MIURA_LIB_FORMAT_H

#include <stdarg.h>
#include <stddef.h>

/* Receives formatted output in pieces: n bytes at s (not NUL-terminated, n may
 * be 0). ctx is the caller's. */
typedef void (*format_out_fn)(void *ctx, const char *s, size_t n);

/*
 * Formats fmt with the arguments in ap (see include/libc/stdio.h for the
 * conversions) and hands the result to out in pieces of at most a few dozen
 * bytes. Returns the total number of bytes produced, or -1 if that exceeds
 * INT_MAX (the output is still produced). Unknown conversions (including %n,
 * which is not supported) are copied to the output as written and consume no
 * argument. %p prints "(nil)" for NULL, otherwise like %#lx. %s with NULL
 * prints "(null)", or nothing if a precision below 6 is given (as glibc).
 */
int miura_vformat(format_out_fn out, void *ctx, const char *fmt, va_list ap);

#endif
