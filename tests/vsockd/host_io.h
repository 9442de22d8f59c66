/* SPDX-License-Identifier: BSD-2-Clause */
/* Host-side clients and servers of the vsockd test driver and benchmark. */
#ifndef VSOCKD_TEST_HOST_IO_H
#define VSOCKD_TEST_HOST_IO_H

#include <stddef.h>
#include <stdint.h>

uint64_t now_us(void);
int tcp_connect(uint16_t port);
int unix_connect(const char *path);
/* Hybrid handshake: connect to path, "CONNECT port\n", expect "OK <n>\n". */
int uds_connect(const char *path, uint32_t port, uint32_t *host_port, char *line, size_t linelen);

/*
 * Sends `prefix` then `len` bytes of pattern `seed`, shuts down writing,
 * reads and hashes until EOF, all within timeout_ms (poll-driven, so the
 * echo of a large stream cannot deadlock). Returns 0, or -1 on error/timeout.
 */
int exchange(int fd, const void *prefix, size_t prefix_len, uint64_t seed, uint64_t len,
             uint64_t *rx_len, uint64_t *rx_hash, int timeout_ms);
/* Blocking: sends len bytes of pattern seed. */
int send_pattern(int fd, uint64_t seed, uint64_t len);
/* Reads and hashes until EOF (0) or a reset (1), keeping the first keep_len bytes; -1 on timeout.
 */
int drain(int fd, uint8_t *keep, size_t keep_len, uint64_t *rx_len, uint64_t *rx_hash,
          int timeout_ms);

/* Unix echo server at path (threads; lives until the process exits). */
int echo_server_start(const char *path);

#endif
