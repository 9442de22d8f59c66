/* SPDX-License-Identifier: BSD-2-Clause */
/* POSIX scalar types with the Linux x86-64 widths. */
#ifndef MIURA_LIBC_SYS_TYPES_H
#define MIURA_LIBC_SYS_TYPES_H

#include <stddef.h>

typedef long ssize_t;
typedef long off_t; /* 64-bit: there is no off64_t */
typedef unsigned int mode_t;
typedef unsigned long dev_t;
typedef unsigned long ino_t;
typedef unsigned long nlink_t;
typedef unsigned int uid_t;
typedef unsigned int gid_t;
typedef int pid_t;
typedef long blksize_t;
typedef long blkcnt_t;
typedef unsigned long fsblkcnt_t;
typedef unsigned long fsfilcnt_t;
typedef long time_t;

#endif
