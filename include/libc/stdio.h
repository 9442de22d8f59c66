/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Formatted output for Miura guests. Output goes to the console (16550).
 * Conversions: %d %i %u %x %X %o %p %s %c %% with flags '-', '0', '+', ' ',
 * '#', width and precision (also '*'), and length modifiers hh h l ll z t j.
 * No floating point (the kernel is built without SSE).
 * snprintf/vsnprintf always NUL-terminate when size > 0 and return the length
 * the full output would have had (-1 with errno EOVERFLOW past INT_MAX).
 * As glibc: %p prints "(nil)" for NULL, %s prints "(null)" for NULL (nothing
 * if a precision below 6 is given). Not supported: floating point, %n,
 * positional arguments ("%1$d"); such a conversion is copied to the output
 * as written and consumes no argument.
 * printf/vprintf/puts/putchar write to the console in pieces of at most 128
 * bytes (longer single pieces, such as a long %s, go out whole).
 */
#ifndef MIURA_LIBC_STDIO_H
#define MIURA_LIBC_STDIO_H

#include <stdarg.h>
#include <stddef.h>

#define EOF (-1)

int printf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
int vprintf(const char *fmt, va_list ap);
int snprintf(char *buf, size_t size, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
int vsnprintf(char *buf, size_t size, const char *fmt, va_list ap);
int sprintf(char *buf, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
int puts(const char *s);
int putchar(int c);

#ifndef SEEK_SET
#define SEEK_SET 0
#define SEEK_CUR 1
#define SEEK_END 2
#endif

/* Renames within one mount (else EXDEV); see docs/filesystem.md. */
int rename(const char *oldpath, const char *newpath);

#endif
