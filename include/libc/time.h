/* SPDX-License-Identifier: BSD-2-Clause */
/* Only struct timespec (for struct stat); clocks are in <miura/miura.h>. */
#ifndef MIURA_LIBC_TIME_H
#define MIURA_LIBC_TIME_H

#include <sys/types.h>

struct timespec {
    time_t tv_sec;
    long tv_nsec;
};

#endif
