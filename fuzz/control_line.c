/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Fuzz: the control socket's command reader (host/common/control.c), fed the
 * input through a socketpair in pieces the first byte sizes. Whatever comes
 * in, the client gets the stats (for "stats"), one "error" line, or nothing
 * (a line too long, or no line), and the client slot is freed once answered.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/control.h"

static size_t stats(char *buf, size_t len)
{
    size_t off = 0;
    control_kv(buf, len, &off, "active", 1);
    return off;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    int sv[2];
    struct control c;
    if (size < 1 || socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv) < 0)
        return 0;
    size_t step = data[0] % 16 + 1;
    data++;
    size--;
    memset(&c, 0, sizeof(c));
    c.listen_w.fd = -1;
    c.stats = stats;
    for (unsigned i = 0; i < CONTROL_CLIENTS; i++)
        c.client[i].w.fd = -1;
    c.client[0].w = (struct watch){.fd = sv[0], .obj = &c};
    for (size_t off = 0; off < size && c.client[0].w.fd >= 0; off += step) {
        size_t n = size - off < step ? size - off : step;
        if (send(sv[1], data + off, n, 0) != (ssize_t)n)
            break;
        control_input(&c, &c.client[0].w);
    }
    char reply[CONTROL_REPLY + 1];
    ssize_t got = recv(sv[1], reply, sizeof(reply) - 1, MSG_DONTWAIT);
    if (got > 0) {
        reply[got] = 0;
        if (c.client[0].w.fd >= 0) /* answered but not closed */
            abort();
        if (strcmp(reply, "active 1\n") != 0 && strncmp(reply, "error ", 6) != 0)
            abort();
        const uint8_t *nl = memchr(data, '\n', size), *cr = memchr(data, '\r', size);
        const uint8_t *end = !nl ? cr : !cr ? nl : nl < cr ? nl : cr;
        if (!end ||
            (strcmp(reply, "active 1\n") == 0) != (end - data == 5 && !memcmp(data, "stats", 5)))
            abort();
    }
    if (c.client[0].w.fd >= 0)
        close(c.client[0].w.fd);
    close(sv[1]);
    return 0;
}
