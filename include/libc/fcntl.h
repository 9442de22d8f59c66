/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * open() and its flags (Linux x86-64 values). See docs/filesystem.md for
 * what each flag does on Miura: O_NONBLOCK and O_CLOEXEC are accepted and
 * ignored (files never block on the guest's side; there is no exec).
 */
#ifndef MIURA_LIBC_FCNTL_H
#define MIURA_LIBC_FCNTL_H

#include <sys/types.h>

#define O_RDONLY    0
#define O_WRONLY    1
#define O_RDWR      2
#define O_ACCMODE   3
#define O_CREAT     0100
#define O_EXCL      0200
#define O_NOCTTY    0400
#define O_TRUNC     01000
#define O_APPEND    02000
#define O_NONBLOCK  04000
#define O_DIRECTORY 0200000
#define O_NOFOLLOW  0400000
#define O_CLOEXEC   02000000

#ifndef SEEK_SET
#define SEEK_SET 0
#define SEEK_CUR 1
#define SEEK_END 2
#endif

/* fcntl commands. Sockets support F_GETFL/F_SETFL (O_NONBLOCK) and
 * F_GETFD/F_SETFD (FD_CLOEXEC, ignored); see docs/networking.md. */
#define F_GETFD    1
#define F_SETFD    2
#define F_GETFL    3
#define F_SETFL    4
#define FD_CLOEXEC 1

/* Any descriptor. F_GETFL: the access mode, O_APPEND and O_NONBLOCK;
 * F_SETFL changes O_APPEND and O_NONBLOCK (sockets heed O_NONBLOCK, files
 * O_APPEND); F_GETFD/F_SETFD do nothing (there is no exec). */
int fcntl(int fd, int cmd, ...);

/* Returns a descriptor (>= 3), or -1 with errno. mode is read only with
 * O_CREAT (permission bits; no umask applies). */
int open(const char *path, int flags, ...);
int creat(const char *path, mode_t mode);

#endif
