/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Directory streams. readdir returns entries in the server's order, "."
 * and ".." included, and the returned struct is overwritten by the next
 * readdir of the same DIR.
 */
#ifndef MIURA_LIBC_DIRENT_H
#define MIURA_LIBC_DIRENT_H

#include <sys/types.h>

struct dirent {
    ino_t d_ino;
    off_t d_off; /* the server's cookie after this entry */
    unsigned short d_reclen;
    unsigned char d_type; /* DT_* */
    char d_name[256];
};

#define DT_UNKNOWN 0
#define DT_FIFO    1
#define DT_CHR     2
#define DT_DIR     4
#define DT_BLK     6
#define DT_REG     8
#define DT_LNK     10
#define DT_SOCK    12

typedef struct miura_dir DIR;

DIR *opendir(const char *path);
struct dirent *readdir(DIR *d);
void rewinddir(DIR *d);
int closedir(DIR *d);
int dirfd(DIR *d);

#endif
