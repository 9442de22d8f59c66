/* SPDX-License-Identifier: BSD-2-Clause */
/* File system statistics of the mount that serves a path (FUSE STATFS). */
#ifndef MIURA_LIBC_SYS_STATVFS_H
#define MIURA_LIBC_SYS_STATVFS_H

#include <sys/types.h>

struct statvfs {
    unsigned long f_bsize;
    unsigned long f_frsize;
    fsblkcnt_t f_blocks;
    fsblkcnt_t f_bfree;
    fsblkcnt_t f_bavail;
    fsfilcnt_t f_files;
    fsfilcnt_t f_ffree;
    fsfilcnt_t f_favail;
    unsigned long f_fsid;
    unsigned long f_flag;
    unsigned long f_namemax;
    int __spare[6];
};

int statvfs(const char *path, struct statvfs *s);

#endif
