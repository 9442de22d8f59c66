/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * File descriptor I/O. Descriptors 0, 1 and 2 are the console: write(1)
 * and write(2) print, read(0) returns 0 (end of file), close() of them does
 * nothing. Files, directories and sockets share one table: a new descriptor
 * is the lowest free number (at most 4095). read, write and close take any
 * descriptor; pread, pwrite, lseek, fsync and ftruncate only files (ESPIPE
 * or EINVAL otherwise). All functions return -1 and set errno on failure
 * (docs/filesystem.md).
 */
#ifndef MIURA_LIBC_UNISTD_H
#define MIURA_LIBC_UNISTD_H

#include <stddef.h>
#include <sys/types.h>

#define STDIN_FILENO  0
#define STDOUT_FILENO 1
#define STDERR_FILENO 2

#ifndef SEEK_SET
#define SEEK_SET 0
#define SEEK_CUR 1
#define SEEK_END 2
#endif

ssize_t read(int fd, void *buf, size_t n);
ssize_t write(int fd, const void *buf, size_t n);
ssize_t pread(int fd, void *buf, size_t n, off_t off);
ssize_t pwrite(int fd, const void *buf, size_t n, off_t off);
off_t lseek(int fd, off_t off, int whence);
int close(int fd);
int fsync(int fd);
int fdatasync(int fd);
int ftruncate(int fd, off_t len);
int unlink(const char *path);
int rmdir(const char *path);

#endif
