/* SPDX-License-Identifier: BSD-2-Clause */
#include <errno.h>

#include "lib/posix_result.h"

long posix_result(long rc)
{
    if (rc < 0) {
        errno = (int)-rc;
        return -1;
    }
    return rc;
}
