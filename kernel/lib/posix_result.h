/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The one conversion from the kernel's error convention (a negative errno)
 * to the POSIX surface's (-1 with errno set), used by every POSIX-shaped
 * call the units define.
 */
#ifndef MIURA_LIB_POSIX_RESULT_H
#define MIURA_LIB_POSIX_RESULT_H

/* rc when rc >= 0; otherwise sets errno to -rc and returns -1. */
long posix_result(long rc);

#endif
