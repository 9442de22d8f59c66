/* SPDX-License-Identifier: BSD-2-Clause */
/* --publish [ADDR:]HOSTPORT:GUESTPORT: a TCP listener carried to a guest vsock port. */
#ifndef PROXY_PUBLISH_H
#define PROXY_PUBLISH_H

#include <stddef.h>
#include <stdint.h>

struct publish {
    char addr[16]; /* dotted IPv4, default 127.0.0.1 */
    uint16_t host_port;
    uint32_t guest_port;
};

/* Parses a --publish value; returns 0, or -1 with a message in err. */
int publish_parse(const char *spec, struct publish *p, char *err, size_t errlen);
/* A non-blocking listening TCP socket for p; fd, or -1 with a message in err. */
int publish_listen(const struct publish *p, char *err, size_t errlen);

#endif
