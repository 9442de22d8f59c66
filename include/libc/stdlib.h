/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Memory (the Memory unit) and number conversion.
 * malloc family: memory is 16-byte aligned; out of memory returns NULL with
 * errno = ENOMEM. free() of a pointer the heap did not hand out, or of one
 * already freed, is reported on the console and otherwise ignored.
 */
#ifndef MIURA_LIBC_STDLIB_H
#define MIURA_LIBC_STDLIB_H

#include <stddef.h>

#define EXIT_SUCCESS 0
#define EXIT_FAILURE 1

void *malloc(size_t size);
void *calloc(size_t nmemb, size_t size);
void *realloc(void *ptr, size_t size);
void free(void *ptr);
void *aligned_alloc(size_t alignment, size_t size);

long strtol(const char *s, char **end, int base);
unsigned long strtoul(const char *s, char **end, int base);
long long strtoll(const char *s, char **end, int base);
unsigned long long strtoull(const char *s, char **end, int base);
int atoi(const char *s);
int abs(int x);

_Noreturn void exit(int status);
_Noreturn void abort(void);

#endif
