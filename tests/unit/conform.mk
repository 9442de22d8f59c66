# SPDX-License-Identifier: BSD-2-Clause
# The C vsock code held to spec/vsock.pml: SPIN simulations replayed against
# the guest stack and miura-vsockd's connection code (conform_trace.h).
# Built from the units' own source lists (NET_UNIT_SRCS from net_data.mk,
# VSOCKD_LIB_SRCS from host/vsockd/prog.mk), so moved files need no edit here
# (= not :=: net_data.mk is read after this file).
UNIT_TESTS += conform_guest conform_host
conform_guest_SRCS = $(NET_UNIT_SRCS) tests/unit/conform_trace_guest.c tests/unit/conform_guest.c
# miura-vsockd without its epoll loop (conform_host.c stands in for loop.c);
# host sockets are fakes behind --wrap.
conform_host_SRCS := $(VSOCKD_LIB_SRCS) $(hostcommon_SRCS) \
	tests/unit/conform_trace.c tests/unit/conform_host.c
conform_host_LIBS := -Wl,--wrap=readv,--wrap=sendmsg,--wrap=send,--wrap=recv,--wrap=shutdown,--wrap=close
