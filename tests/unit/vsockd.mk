# SPDX-License-Identifier: BSD-2-Clause
# miura-vsockd unit tests (fake rings in fake guest memory; see vsockd_fake.h).
VSOCKD_UNIT_SRCS := host/vsockd/vring.c host/vsockd/vhost_user.c host/vsockd/conn.c \
	host/vsockd/device.c host/vsockd/endpoint.c host/vsockd/connect_line.c \
	host/vsockd/loop.c host/vsockd/log.c
UNIT_TESTS += vsockd_vring vsockd_vhost vsockd_conn vsockd_line vsockd_endpoint
vsockd_vring_SRCS := host/vsockd/vring.c tests/unit/test_vsockd_vring.c
vsockd_vhost_SRCS := $(VSOCKD_UNIT_SRCS) tests/unit/test_vsockd_vhost.c
vsockd_conn_SRCS := $(VSOCKD_UNIT_SRCS) tests/unit/test_vsockd_conn.c
vsockd_line_SRCS := host/vsockd/connect_line.c tests/unit/test_vsockd_line.c
vsockd_endpoint_SRCS := $(VSOCKD_UNIT_SRCS) tests/unit/test_vsockd_endpoint.c
