/* SPDX-License-Identifier: BSD-2-Clause */
#ifndef MIURA_LIBC_STRING_H
#define MIURA_LIBC_STRING_H

#include <stddef.h>

void *memcpy(void *restrict dst, const void *restrict src, size_t n);
void *memmove(void *dst, const void *src, size_t n);
void *memset(void *dst, int c, size_t n);
int memcmp(const void *a, const void *b, size_t n);
void *memchr(const void *s, int c, size_t n);
size_t strlen(const char *s);
size_t strnlen(const char *s, size_t max);
int strcmp(const char *a, const char *b);
int strncmp(const char *a, const char *b, size_t n);
int strcasecmp(const char *a, const char *b);
int strncasecmp(const char *a, const char *b, size_t n);
char *strchr(const char *s, int c);
char *strrchr(const char *s, int c);
char *strstr(const char *haystack, const char *needle);
char *strcpy(char *restrict dst, const char *restrict src);
char *strncpy(char *restrict dst, const char *restrict src, size_t n);
size_t strlcpy(char *restrict dst, const char *restrict src, size_t size);
char *strdup(const char *s);
char *strndup(const char *s, size_t n);
/* Linux's message for errnum; "Unknown error" for a number not in errno.h. */
char *strerror(int errnum);
/* The symbolic name ("ENOENT") of errnum, or NULL if unknown. */
const char *strerrorname_np(int errnum);

#endif
