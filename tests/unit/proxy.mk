# SPDX-License-Identifier: BSD-2-Clause
# miura-proxy unit tests: the relay over socketpairs, built from the program's
# source list (host/proxy/prog.mk).
UNIT_TESTS += proxy_relay
proxy_relay_SRCS := $(PROXY_LIB_SRCS) $(hostcommon_SRCS) tests/unit/test_proxy_relay.c
