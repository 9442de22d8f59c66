# SPDX-License-Identifier: BSD-2-Clause
# miura-vsockd parsers of outside input: vhost-user messages, guest rings and
# packets (the hybrid CONNECT line is fuzz/port_line). Built from the program's
# source list (host/vsockd/prog.mk). Names differ from the unit tests': the
# <name>_SRCS variables share one namespace.
FUZZERS += vsockd_vhost_msg vsockd_rings
vsockd_vhost_msg_SRCS := fuzz/vsockd_vhost_msg.c $(VSOCKD_LIB_SRCS) $(hostcommon_SRCS)
vsockd_rings_SRCS := fuzz/vsockd_rings.c $(VSOCKD_LIB_SRCS) $(hostcommon_SRCS)
