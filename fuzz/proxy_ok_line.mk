# SPDX-License-Identifier: BSD-2-Clause
# miura-proxy: the VMM's "OK <port>\n" reply, the one parser of VMM input.
FUZZERS += proxy_ok_line
proxy_ok_line_SRCS := fuzz/proxy_ok_line.c host/proxy/ok_line.c
