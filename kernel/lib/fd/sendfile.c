/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * sendfile()'s dispatch to the out descriptor's kind (fd.h): the unit of
 * the in descriptor (fs) defines sendfile() and hands over its read, so
 * neither unit knows the other. An image that never calls sendfile() links
 * no sendfile op.
 */
#include <errno.h>

#include "lib/fd/fd.h"
#include "lib/fd/fd_op.h"

FD_OP_SECTION(sendfile);

int64_t fd_sendfile(struct fd_object *out, struct fd_object *in, fd_read_op *read, int64_t *pos,
                    size_t n)
{
    const struct fd_op *op = fd_op_find(sendfile, out);

    return op ? op->fn.sendfile(out, in, read, pos, n) : -EINVAL;
}
