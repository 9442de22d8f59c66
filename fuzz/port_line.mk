# SPDX-License-Identifier: BSD-2-Clause
# The hybrid vsock handshake lines (host/common/port_line.c): "CONNECT <port>\n"
# that miura-vsockd --uds reads from clients, "OK <port>\n" that miura-proxy
# reads from the VMM.
FUZZERS += port_line
port_line_SRCS := fuzz/port_line.c $(hostcommon_SRCS)
