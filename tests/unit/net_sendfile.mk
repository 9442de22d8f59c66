# SPDX-License-Identifier: BSD-2-Clause
# The zero-copy path (sendfile from a fake file kind) and the packets net
# hands the fake device: ownership, credit, resets, half-close, truncation.
UNIT_TESTS += net_sendfile
net_sendfile_SRCS := $(NET_UNIT_SRCS) tests/unit/test_net_sendfile.c
