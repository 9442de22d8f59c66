/* SPDX-License-Identifier: BSD-2-Clause */
/* struct timeval, for SO_RCVTIMEO / SO_SNDTIMEO. */
#ifndef MIURA_LIBC_SYS_TIME_H
#define MIURA_LIBC_SYS_TIME_H

#include <sys/types.h>

typedef long suseconds_t;

struct timeval {
    time_t tv_sec;
    suseconds_t tv_usec;
};

#endif
