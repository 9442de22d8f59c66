/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * HTTP readiness: a published port counts as serving only once a real
 * request is answered. One probe connects, sends "HEAD / HTTP/1.0\r\n\r\n"
 * and wants a reply that starts with "HTTP/", all within timeout_ms.
 */
#ifndef MIURA_LAUNCHER_PROBE_H
#define MIURA_LAUNCHER_PROBE_H

#include <stdint.h>

enum probe_result {
    PROBE_READY,    /* a reply starting with "HTTP/" came back */
    PROBE_REFUSED,  /* no connection (nothing listening yet) */
    PROBE_CLOSED,   /* connected, but closed or reset before a reply */
    PROBE_TIMEOUT,  /* no complete answer within the time */
    PROBE_NOT_HTTP, /* a reply came that is not HTTP */
};

/* One probe of ADDR:PORT (dotted IPv4; 0.0.0.0 is probed on 127.0.0.1). */
enum probe_result http_probe(const char *addr, uint16_t port, int timeout_ms);

/*
 * Whether the guest accepts connections on vsock port `port`, through
 * miura-vsockd's hybrid socket: connects to uds_path, sends "CONNECT
 * <port>\n" and wants a line starting with "OK " (which miura-vsockd sends
 * only once the guest accepted), then closes. PROBE_READY, or PROBE_CLOSED
 * (closed without OK: nothing listens there yet), PROBE_REFUSED, PROBE_TIMEOUT.
 */
enum probe_result vsock_accept_probe(const char *uds_path, uint32_t port, int timeout_ms);

const char *probe_result_name(enum probe_result r);

#endif
