/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Fuzz: the launcher's walk over a buffer of NETLINK_SOCK_DIAG messages
 * (host/launcher/listeners.c, tcp_diag_count): any bytes, at any alignment
 * the first byte picks; the walk stays inside the buffer (ASan), returns one
 * of its three answers, and counts at most one connection per 88-byte
 * message (the smallest a counted one can be).
 */
#include <linux/inet_diag.h>
#include <linux/netlink.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "launcher/listeners.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    size_t shift = data[0] % 8;
    data++;
    size--;
    /* A copy at an odd offset: the parser must not assume alignment. */
    uint8_t *buf = malloc(size + shift + 1);
    if (!buf)
        return 0;
    memcpy(buf + shift, data, size);
    uint16_t ports[] = {80, 8080, 24001};
    unsigned count = 0;
    int rc = tcp_diag_count(buf + shift, size, ports, 3, &count);
    if (rc < -1 || rc > 1)
        abort();
    if (count > size / (NLMSG_HDRLEN + sizeof(struct inet_diag_msg)))
        abort();
    free(buf);
    return 0;
}
