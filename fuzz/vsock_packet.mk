# SPDX-License-Identifier: BSD-2-Clause
FUZZERS += vsock_packet
vsock_packet_SRCS := fuzz/vsock_packet.c $(NET_UNIT_SRCS)
