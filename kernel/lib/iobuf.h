/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * One piece of memory that a device (or whatever stands in for one) reads
 * or writes. Memory is identity-mapped, so addr is also the guest physical
 * address the device is given. The FUSE client hands lists of these to its
 * transport, and the virtqueue turns them into descriptors.
 */
#ifndef MIURA_LIB_IOBUF_H
#define MIURA_LIB_IOBUF_H

#include <stdint.h>

struct iobuf {
    void *addr;
    uint32_t len; /* > 0 */
};

#endif
