# SPDX-License-Identifier: BSD-2-Clause
# miura-vsockd parsers of outside input: vhost-user messages, guest rings and
# packets, the hybrid CONNECT line. (Names differ from the unit tests': the
# <name>_SRCS variables share one namespace.)
VSOCKD_FUZZ_SRCS := host/vsockd/vring.c host/vsockd/vhost_user.c host/vsockd/conn.c \
	host/vsockd/device.c host/vsockd/endpoint.c host/vsockd/connect_line.c \
	host/vsockd/loop.c host/vsockd/log.c
FUZZERS += vsockd_vhost_msg vsockd_rings vsockd_connect_line
vsockd_vhost_msg_SRCS := fuzz/vsockd_vhost_msg.c $(VSOCKD_FUZZ_SRCS)
vsockd_rings_SRCS := fuzz/vsockd_rings.c $(VSOCKD_FUZZ_SRCS)
vsockd_connect_line_SRCS := fuzz/vsockd_connect_line.c host/vsockd/connect_line.c
