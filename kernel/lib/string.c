/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * string.h: memory and string functions.
 *
 * gcc recognises copy/fill/strlen loops and may replace them with calls to
 * memcpy/memset/strlen, which inside those very functions would recurse;
 * loop-pattern distribution is therefore off in this file. memset uses
 * `rep stosb`, fast on every x86-64 with ERMSB. memcpy moves eight bytes a
 * step (`rep movsq`, then `rep movsb` for the tail), out of line: as fast as
 * `rep movsb` where ERMSB makes that fast, and 8x fewer steps where it does
 * not, e.g. under an emulator (TCG runs each step of a string instruction
 * on its own: a 1 KiB response body copied twice was 7-15 % of the guest's
 * time per small request; docs/benchmarks.md). The host tests run these too.
 */
#if defined(__GNUC__) && !defined(__clang__)
/* The pragma re-applies the -O level's defaults, so frame pointers (for
 * backtraces) must be asked for again. */
#pragma GCC optimize("no-tree-loop-distribute-patterns", "no-omit-frame-pointer")
#endif

#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lib/libc_name.h"

#if !defined(__x86_64__)
#error "kernel/lib/string.c: x86-64 only (rep movsb/stosb)"
#endif

__attribute__((noinline)) void *LIBC_NAME(memcpy)(void *restrict dst, const void *restrict src,
                                                  size_t n)
{
    void *d = dst;
    size_t q = n >> 3, r = n & 7;

    __asm__ volatile("rep movsq\n\tmov %3, %%rcx\n\trep movsb"
                     : "+D"(d), "+S"(src), "+c"(q)
                     : "r"(r)
                     : "memory");
    return dst;
}

void *LIBC_NAME(memmove)(void *dst, const void *src, size_t n)
{
    unsigned char *d = dst;
    const unsigned char *s = src;

    if (d == s || n == 0)
        return dst;
    if ((uintptr_t)d - (uintptr_t)s >= n) /* dst below src or no overlap: copy forward */
        return LIBC_NAME(memcpy)(dst, src, n);
    /* dst overlaps the tail of src: copy backward. */
    d += n - 1;
    s += n - 1;
    __asm__ volatile("std\n\trep movsb\n\tcld" : "+D"(d), "+S"(s), "+c"(n) : : "memory", "cc");
    return dst;
}

void *LIBC_NAME(memset)(void *dst, int c, size_t n)
{
    void *d = dst;

    __asm__ volatile("rep stosb" : "+D"(d), "+c"(n) : "a"(c) : "memory");
    return dst;
}

int LIBC_NAME(memcmp)(const void *a, const void *b, size_t n)
{
    const unsigned char *x = a, *y = b;

    for (size_t i = 0; i < n; i++) {
        if (x[i] != y[i])
            return x[i] < y[i] ? -1 : 1;
    }
    return 0;
}

void *LIBC_NAME(memchr)(const void *s, int c, size_t n)
{
    const unsigned char *p = s;

    for (size_t i = 0; i < n; i++) {
        if (p[i] == (unsigned char)c)
            return (void *)(p + i);
    }
    return NULL;
}

size_t LIBC_NAME(strlen)(const char *s)
{
    size_t n = 0;

    while (s[n] != '\0')
        n++;
    return n;
}

size_t LIBC_NAME(strnlen)(const char *s, size_t max)
{
    size_t n = 0;

    while (n < max && s[n] != '\0')
        n++;
    return n;
}

int LIBC_NAME(strcmp)(const char *a, const char *b)
{
    const unsigned char *x = (const unsigned char *)a, *y = (const unsigned char *)b;

    while (*x != '\0' && *x == *y) {
        x++;
        y++;
    }
    return (*x > *y) - (*x < *y);
}

int LIBC_NAME(strncmp)(const char *a, const char *b, size_t n)
{
    const unsigned char *x = (const unsigned char *)a, *y = (const unsigned char *)b;

    for (; n > 0; n--, x++, y++) {
        if (*x != *y)
            return *x < *y ? -1 : 1;
        if (*x == '\0')
            break;
    }
    return 0;
}

/* ASCII only: the kernel has no locales. */
static int ascii_lower(unsigned char c)
{
    return c >= 'A' && c <= 'Z' ? c + ('a' - 'A') : c;
}

int LIBC_NAME(strcasecmp)(const char *a, const char *b)
{
    const unsigned char *x = (const unsigned char *)a, *y = (const unsigned char *)b;

    while (*x != '\0' && ascii_lower(*x) == ascii_lower(*y)) {
        x++;
        y++;
    }
    return ascii_lower(*x) - ascii_lower(*y);
}

int LIBC_NAME(strncasecmp)(const char *a, const char *b, size_t n)
{
    const unsigned char *x = (const unsigned char *)a, *y = (const unsigned char *)b;

    for (; n > 0; n--, x++, y++) {
        int d = ascii_lower(*x) - ascii_lower(*y);
        if (d != 0)
            return d;
        if (*x == '\0')
            break;
    }
    return 0;
}

char *LIBC_NAME(strchr)(const char *s, int c)
{
    for (;; s++) {
        if (*s == (char)c)
            return (char *)s;
        if (*s == '\0')
            return NULL;
    }
}

char *LIBC_NAME(strrchr)(const char *s, int c)
{
    const char *last = NULL;

    for (;; s++) {
        if (*s == (char)c)
            last = s;
        if (*s == '\0')
            return (char *)last;
    }
}

char *LIBC_NAME(strstr)(const char *haystack, const char *needle)
{
    size_t n = LIBC_NAME(strlen)(needle);

    if (n == 0)
        return (char *)haystack;
    for (; *haystack != '\0'; haystack++) {
        if (*haystack == *needle && LIBC_NAME(strncmp)(haystack, needle, n) == 0)
            return (char *)haystack;
    }
    return NULL;
}

char *LIBC_NAME(strcpy)(char *restrict dst, const char *restrict src)
{
    return LIBC_NAME(memcpy)(dst, src, LIBC_NAME(strlen)(src) + 1);
}

char *LIBC_NAME(strncpy)(char *restrict dst, const char *restrict src, size_t n)
{
    size_t len = LIBC_NAME(strnlen)(src, n);

    LIBC_NAME(memcpy)(dst, src, len);
    LIBC_NAME(memset)(dst + len, 0, n - len);
    return dst;
}

size_t LIBC_NAME(strlcpy)(char *restrict dst, const char *restrict src, size_t size)
{
    size_t len = LIBC_NAME(strlen)(src);

    if (size > 0) {
        size_t n = len < size - 1 ? len : size - 1;
        LIBC_NAME(memcpy)(dst, src, n);
        dst[n] = '\0';
    }
    return len;
}

/* malloc is the heap's (the Memory unit) in the guest; the system's on the
 * host, where the caller frees with the system free(). */
static char *copy_to_heap(const char *s, size_t len)
{
    char *d = malloc(len + 1);

    if (d == NULL)
        return NULL; /* malloc set errno */
    LIBC_NAME(memcpy)(d, s, len);
    d[len] = '\0';
    return d;
}

char *LIBC_NAME(strndup)(const char *s, size_t n)
{
    return copy_to_heap(s, LIBC_NAME(strnlen)(s, n));
}

char *LIBC_NAME(strdup)(const char *s)
{
    return copy_to_heap(s, LIBC_NAME(strlen)(s));
}

/* ---- error messages: the Linux texts, so that guest and host agree */

static const struct {
    int number;
    const char *name;
    const char *message;
} error_table[] = {
    {0, "0", "Success"},
    {EPERM, "EPERM", "Operation not permitted"},
    {ENOENT, "ENOENT", "No such file or directory"},
    {ESRCH, "ESRCH", "No such process"},
    {EINTR, "EINTR", "Interrupted system call"},
    {EIO, "EIO", "Input/output error"},
    {ENXIO, "ENXIO", "No such device or address"},
    {E2BIG, "E2BIG", "Argument list too long"},
    {ENOEXEC, "ENOEXEC", "Exec format error"},
    {EBADF, "EBADF", "Bad file descriptor"},
    {ECHILD, "ECHILD", "No child processes"},
    {EAGAIN, "EAGAIN", "Resource temporarily unavailable"},
    {ENOMEM, "ENOMEM", "Cannot allocate memory"},
    {EACCES, "EACCES", "Permission denied"},
    {EFAULT, "EFAULT", "Bad address"},
    {EBUSY, "EBUSY", "Device or resource busy"},
    {EEXIST, "EEXIST", "File exists"},
    {EXDEV, "EXDEV", "Invalid cross-device link"},
    {ENODEV, "ENODEV", "No such device"},
    {ENOTDIR, "ENOTDIR", "Not a directory"},
    {EISDIR, "EISDIR", "Is a directory"},
    {EINVAL, "EINVAL", "Invalid argument"},
    {ENFILE, "ENFILE", "Too many open files in system"},
    {EMFILE, "EMFILE", "Too many open files"},
    {ENOTTY, "ENOTTY", "Inappropriate ioctl for device"},
    {EFBIG, "EFBIG", "File too large"},
    {ENOSPC, "ENOSPC", "No space left on device"},
    {ESPIPE, "ESPIPE", "Illegal seek"},
    {EROFS, "EROFS", "Read-only file system"},
    {EMLINK, "EMLINK", "Too many links"},
    {EPIPE, "EPIPE", "Broken pipe"},
    {EDOM, "EDOM", "Numerical argument out of domain"},
    {ERANGE, "ERANGE", "Numerical result out of range"},
    {EDEADLK, "EDEADLK", "Resource deadlock avoided"},
    {ENAMETOOLONG, "ENAMETOOLONG", "File name too long"},
    {ENOLCK, "ENOLCK", "No locks available"},
    {ENOSYS, "ENOSYS", "Function not implemented"},
    {ENOTEMPTY, "ENOTEMPTY", "Directory not empty"},
    {ELOOP, "ELOOP", "Too many levels of symbolic links"},
    {ENODATA, "ENODATA", "No data available"},
    {ETIME, "ETIME", "Timer expired"},
    {EPROTO, "EPROTO", "Protocol error"},
    {EOVERFLOW, "EOVERFLOW", "Value too large for defined data type"},
    {EBADFD, "EBADFD", "File descriptor in bad state"},
    {ENOTSOCK, "ENOTSOCK", "Socket operation on non-socket"},
    {EDESTADDRREQ, "EDESTADDRREQ", "Destination address required"},
    {EMSGSIZE, "EMSGSIZE", "Message too long"},
    {EPROTOTYPE, "EPROTOTYPE", "Protocol wrong type for socket"},
    {ENOPROTOOPT, "ENOPROTOOPT", "Protocol not available"},
    {EPROTONOSUPPORT, "EPROTONOSUPPORT", "Protocol not supported"},
    {ESOCKTNOSUPPORT, "ESOCKTNOSUPPORT", "Socket type not supported"},
    {EOPNOTSUPP, "EOPNOTSUPP", "Operation not supported"},
    {EAFNOSUPPORT, "EAFNOSUPPORT", "Address family not supported by protocol"},
    {EADDRINUSE, "EADDRINUSE", "Address already in use"},
    {EADDRNOTAVAIL, "EADDRNOTAVAIL", "Cannot assign requested address"},
    {ENETDOWN, "ENETDOWN", "Network is down"},
    {ENETUNREACH, "ENETUNREACH", "Network is unreachable"},
    {ECONNABORTED, "ECONNABORTED", "Software caused connection abort"},
    {ECONNRESET, "ECONNRESET", "Connection reset by peer"},
    {ENOBUFS, "ENOBUFS", "No buffer space available"},
    {EISCONN, "EISCONN", "Transport endpoint is already connected"},
    {ENOTCONN, "ENOTCONN", "Transport endpoint is not connected"},
    {ESHUTDOWN, "ESHUTDOWN", "Cannot send after transport endpoint shutdown"},
    {ETIMEDOUT, "ETIMEDOUT", "Connection timed out"},
    {ECONNREFUSED, "ECONNREFUSED", "Connection refused"},
    {EHOSTUNREACH, "EHOSTUNREACH", "No route to host"},
    {EALREADY, "EALREADY", "Operation already in progress"},
    {EINPROGRESS, "EINPROGRESS", "Operation now in progress"},
    {ECANCELED, "ECANCELED", "Operation canceled"},
};

/* Returns the message for errnum, "Unknown error" for numbers not in
 * errno.h. The string is constant; callers must not modify it. */
char *LIBC_NAME(strerror)(int errnum)
{
    for (size_t i = 0; i < sizeof(error_table) / sizeof(error_table[0]); i++) {
        if (error_table[i].number == errnum)
            return (char *)error_table[i].message;
    }
    return (char *)"Unknown error";
}

/* Returns the symbolic name ("ENOENT") for errnum, or NULL if unknown. */
const char *LIBC_NAME(strerrorname_np)(int errnum)
{
    for (size_t i = 0; i < sizeof(error_table) / sizeof(error_table[0]); i++) {
        if (error_table[i].number == errnum)
            return error_table[i].name;
    }
    return NULL;
}
