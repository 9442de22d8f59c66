/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Names of the C library functions that lib (and the mm heap) define.
 *
 * In the guest, LIBC_NAME(printf) is plain `printf`. Host unit tests link the
 * same sources next to the system libc, so there every such function is built
 * as `miura_<name>` instead (MIURA_HOST_TEST), and this header declares those
 * prefixed names for the tests. Guest callers never see the prefix.
 */
#ifndef MIURA_LIB_LIBC_NAME_H
#define MIURA_LIB_LIBC_NAME_H

#ifdef MIURA_HOST_TEST
#define LIBC_NAME(name) miura_##name
#else
#define LIBC_NAME(name) name
#endif

#ifdef MIURA_HOST_TEST
#include <stdarg.h>
#include <stddef.h>

/* stdio.h */
int miura_printf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
int miura_vprintf(const char *fmt, va_list ap);
int miura_snprintf(char *buf, size_t size, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
int miura_vsnprintf(char *buf, size_t size, const char *fmt, va_list ap);
int miura_sprintf(char *buf, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
int miura_puts(const char *s);
int miura_putchar(int c);

/* string.h */
void *miura_memcpy(void *restrict dst, const void *restrict src, size_t n);
void *miura_memmove(void *dst, const void *src, size_t n);
void *miura_memset(void *dst, int c, size_t n);
int miura_memcmp(const void *a, const void *b, size_t n);
void *miura_memchr(const void *s, int c, size_t n);
size_t miura_strlen(const char *s);
size_t miura_strnlen(const char *s, size_t max);
int miura_strcmp(const char *a, const char *b);
int miura_strncmp(const char *a, const char *b, size_t n);
int miura_strcasecmp(const char *a, const char *b);
int miura_strncasecmp(const char *a, const char *b, size_t n);
char *miura_strchr(const char *s, int c);
char *miura_strrchr(const char *s, int c);
char *miura_strstr(const char *haystack, const char *needle);
char *miura_strcpy(char *restrict dst, const char *restrict src);
char *miura_strncpy(char *restrict dst, const char *restrict src, size_t n);
size_t miura_strlcpy(char *restrict dst, const char *restrict src, size_t size);
char *miura_strdup(const char *s);
char *miura_strndup(const char *s, size_t n);
char *miura_strerror(int errnum);
const char *miura_strerrorname_np(int errnum);

/* stdlib.h */
void *miura_malloc(size_t size);
void *miura_calloc(size_t nmemb, size_t size);
void *miura_realloc(void *ptr, size_t size);
void miura_free(void *ptr);
void *miura_aligned_alloc(size_t alignment, size_t size);
long miura_strtol(const char *s, char **end, int base);
unsigned long miura_strtoul(const char *s, char **end, int base);
long long miura_strtoll(const char *s, char **end, int base);
unsigned long long miura_strtoull(const char *s, char **end, int base);
int miura_atoi(const char *s);
int miura_abs(int x);
#endif

#endif
