/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Finding a kind's op (fd.h): the records of one op lie between
 * __start_fd_op_<op> and __stop_fd_op_<op>, which the linker defines when
 * some unit registered that op. Internal to the descriptor layer.
 */
#ifndef MIURA_LIB_FD_OP_H
#define MIURA_LIB_FD_OP_H

#include "lib/fd/fd.h"

/* Weak: an image in which no linked unit registers the op has no such
 * section, and the bounds are then NULL (no op of that kind). */
#define FD_OP_SECTION(op)                                                 \
    extern const struct fd_op __start_fd_op_##op[] __attribute__((weak)); \
    extern const struct fd_op __stop_fd_op_##op[] __attribute__((weak))

/* The record of op for o's kind, or NULL. */
#define fd_op_find(op, o) fd_op_in(__start_fd_op_##op, __stop_fd_op_##op, (o)->kind)

static inline const struct fd_op *fd_op_in(const struct fd_op *r, const struct fd_op *end,
                                           const struct fd_kind *kind)
{
    for (; r < end; r++)
        if (r->kind == kind)
            return r;
    return NULL;
}

#endif
