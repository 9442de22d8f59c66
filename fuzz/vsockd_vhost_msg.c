/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Fuzz: vhost-user messages. The input is a sequence of messages, each a
 * 12-byte header and what the size field claims (cut short at the end of the
 * input). Messages that take fds get memfds (SET_MEM_TABLE: as many as the
 * region count claims, capped) so the mapping path runs too.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "vsockd/device.h"
#include "common/log.h"

static uint64_t clock0(void)
{
    return 0;
}
static int refuse(struct vsock_dev *d, uint32_t p)
{
    (void)d;
    (void)p;
    return -1;
}
static const struct vsock_host_ops host = {refuse, clock0};
static int memfd = -1;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct vsock_dev d;
    static uint8_t reply[VU_HDR_SIZE + VU_MAX_PAYLOAD];
    size_t reply_len;
    log_level = -1;
    if (memfd < 0) {
        memfd = memfd_create("fuzz", 0);
        if (memfd < 0 || ftruncate(memfd, 1 << 20) < 0)
            abort();
    }
    device_init(&d, 3, 8, &host);
    while (size >= VU_HDR_SIZE) {
        uint32_t hdr[3];
        memcpy(hdr, data, 12);
        size_t len = VU_HDR_SIZE + (size_t)hdr[2];
        if (len > size || hdr[2] > 4096)
            len = size < VU_HDR_SIZE + 4096 ? size : VU_HDR_SIZE + 4096;
        int fds[VU_MAX_FDS];
        unsigned nfds = 0;
        if (hdr[0] == VU_SET_MEM_TABLE && len >= 16) {
            uint32_t n;
            memcpy(&n, data + 12, 4);
            nfds = n > VU_MAX_FDS ? VU_MAX_FDS : n;
        } else if (hdr[0] >= VU_SET_VRING_KICK && hdr[0] <= VU_SET_VRING_ERR) {
            nfds = len >= 20 && !(data[13] & 1); /* an fd unless the NOFD bit is set */
        }
        for (unsigned i = 0; i < nfds; i++)
            fds[i] = dup(memfd);
        int rc = vu_handle_message(&d.vu, data, len, fds, nfds, reply, &reply_len);
        for (unsigned i = 0; i < nfds; i++)
            if (fds[i] >= 0)
                close(fds[i]);
        if (rc == 0 && reply_len > sizeof(reply))
            abort();
        /* Whatever the messages did, the device may run: a queue set up by the
         * fuzzer over the memfd must not make it touch memory outside. */
        device_run(&d);
        data += len;
        size -= len;
        if (rc < 0)
            break; /* the connection would be closed here */
    }
    vu_backend_reset(&d.vu);
    device_run(&d);
    return 0;
}
