/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The POSIX-shaped file API that posix.c defines. In the guest these are
 * the libc functions declared by include/libc (<fcntl.h>, <unistd.h>,
 * <sys/stat.h>, <dirent.h>, <stdio.h> rename, <sys/statvfs.h>). Host unit
 * tests link posix.c next to the system libc, so there each function is
 * built as miura_<name> (lib/libc_name.h) and declared here, with the
 * system's struct stat, struct dirent and struct statvfs (Linux x86-64
 * field names, which posix.c relies on) and our own DIR (struct miura_dir).
 * read, write, close, fstat and fcntl are the descriptor layer's (lib/fd/fd.h).
 */
#ifndef MIURA_FS_POSIX_H
#define MIURA_FS_POSIX_H

#include "lib/fd/fd.h"
#include "lib/libc_name.h"

#ifdef MIURA_HOST_TEST
#include <stddef.h>
#include <sys/types.h>

struct stat;
struct statvfs;
struct dirent;
struct miura_dir;

int miura_open(const char *path, int flags, ...);
int miura_creat(const char *path, mode_t mode);
ssize_t miura_pread(int fd, void *buf, size_t n, off_t off);
ssize_t miura_pwrite(int fd, const void *buf, size_t n, off_t off);
ssize_t miura_sendfile(int out_fd, int in_fd, off_t *offset, size_t count);
off_t miura_lseek(int fd, off_t off, int whence);
int miura_fsync(int fd);
int miura_fdatasync(int fd);
int miura_ftruncate(int fd, off_t len);
int miura_unlink(const char *path);
int miura_rmdir(const char *path);
int miura_stat(const char *path, struct stat *st);
int miura_lstat(const char *path, struct stat *st);
int miura_mkdir(const char *path, mode_t mode);
int miura_rename(const char *oldpath, const char *newpath);
int miura_statvfs(const char *path, struct statvfs *s);
struct miura_dir *miura_opendir(const char *path);
struct dirent *miura_readdir(struct miura_dir *d);
void miura_rewinddir(struct miura_dir *d);
int miura_closedir(struct miura_dir *d);
int miura_dirfd(struct miura_dir *d);
#endif

#endif
