# SPDX-License-Identifier: BSD-2-Clause
# miura-vsockd parsers of outside input: vhost-user messages, guest rings and
# packets, the hybrid CONNECT line.
VSOCKD_FUZZ_SRCS := host/vsockd/vring.c host/vsockd/vhost_user.c host/vsockd/conn.c \
	host/vsockd/device.c host/vsockd/endpoint.c host/vsockd/connect_line.c \
	host/vsockd/loop.c host/vsockd/log.c
FUZZERS += vsockd_vhost vsockd_packet vsockd_line
vsockd_vhost_SRCS := fuzz/vsockd_vhost.c $(VSOCKD_FUZZ_SRCS)
vsockd_packet_SRCS := fuzz/vsockd_packet.c $(VSOCKD_FUZZ_SRCS)
vsockd_line_SRCS := fuzz/vsockd_line.c host/vsockd/connect_line.c
