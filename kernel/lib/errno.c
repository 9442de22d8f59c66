/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * errno before (or without) threads: one int for everything. The Process unit
 * gives each thread its own by defining miura_errno_location strongly; the
 * linker then drops this one.
 */
#include <errno.h>

__attribute__((weak)) int *miura_errno_location(void)
{
    static int boot_errno;

    return &boot_errno;
}
