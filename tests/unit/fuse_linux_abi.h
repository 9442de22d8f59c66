/* SPDX-License-Identifier: BSD-2-Clause */
#ifndef MIURA_TEST_FUSE_LINUX_ABI_H
#define MIURA_TEST_FUSE_LINUX_ABI_H

#include <stddef.h>
#include <stdint.h>

struct linux_fuse_fact {
    const char *name; /* a struct, "off:struct.field", or a constant */
    uint64_t value;
};

/* Terminated by a NULL name. */
extern const struct linux_fuse_fact linux_fuse_facts[];

#endif
