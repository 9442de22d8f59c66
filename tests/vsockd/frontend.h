/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The test driver's stand-in for QEMU and a guest: a vhost-user frontend with
 * memfd guest memory (two regions), an rx and a tx ring, and a guest vsock
 * stack with a few services. See driver.c.
 */
#ifndef VSOCKD_TEST_FRONTEND_H
#define VSOCKD_TEST_FRONTEND_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#define GUEST_CID 3

/* Guest services (listening ports in the fake guest). */
#define PORT_ECHO   5000 /* echoes everything, closes after the peer's SHUTDOWN */
#define PORT_SINK   5001 /* hashes everything, answers {count, hash} after SHUTDOWN */
#define PORT_SOURCE 5002 /* reads u64 N, sends N pattern bytes (seed N), closes */

struct frontend;

/* Connects to the daemon and sets the device up; NULL (and a message) on failure. */
struct frontend *fe_start(const char *socket_path, char *err, size_t errlen);
/* Stops the guest thread and closes the vhost-user connection. */
void fe_stop(struct frontend *fe);
uint64_t fe_config_cid(struct frontend *fe);

/*
 * Guest-initiated connection to host port `port`: sends `len` bytes of
 * pattern `seed`, shuts down its sending side and hashes what comes back
 * until the daemon closes. Blocks until done or timeout.
 * Returns 0 with rx_len and rx_hash set, -1 if refused (RST), -2 on timeout.
 */
int fe_guest_connect(struct frontend *fe, uint32_t port, uint64_t seed, uint64_t len,
                     uint64_t *rx_len, uint64_t *rx_hash, int timeout_ms);

/* Hostile guest: posts a tx chain whose descriptor points outside guest memory. */
void fe_post_bad_tx(struct frontend *fe);
struct vsock_hdr;
/* Hostile guest: a tx packet of header + payload in one descriptor of desc_len bytes. */
void fe_inject(struct frontend *fe, const struct vsock_hdr *h, const void *payload,
               uint32_t payload_len, uint32_t desc_len);
/* RSTs the guest got for connections it does not have. */
unsigned long fe_stray_rsts(struct frontend *fe);
/* Frontend misbehaviour: raw bytes on the vhost-user socket. */
int fe_send_raw(struct frontend *fe, const void *buf, size_t len);
/* True if the daemon closed the vhost-user connection within timeout_ms. */
bool fe_wait_closed(struct frontend *fe, int timeout_ms);
/* Guest connections currently open. */
unsigned fe_conn_count(struct frontend *fe);
/* Protocol violations the guest saw from the daemon (lengths, credit, addresses). */
unsigned long fe_errors(struct frontend *fe);

#endif
