# SPDX-License-Identifier: BSD-2-Clause
# miura-vsockd unit tests (fake rings in fake guest memory; see vsockd_fake.h),
# built from the program's own source list (host/vsockd/prog.mk).
UNIT_TESTS += vsockd_vring vsockd_vhost vsockd_conn vsockd_endpoint vsockd_backpressure \
	vsockd_pool
vsockd_vring_SRCS := $(VSOCKD_LIB_SRCS) $(hostcommon_SRCS) tests/unit/test_vsockd_vring.c
vsockd_vhost_SRCS := $(VSOCKD_LIB_SRCS) $(hostcommon_SRCS) tests/unit/test_vsockd_vhost.c
vsockd_conn_SRCS := $(VSOCKD_LIB_SRCS) $(hostcommon_SRCS) tests/unit/test_vsockd_conn.c
vsockd_endpoint_SRCS := $(VSOCKD_LIB_SRCS) $(hostcommon_SRCS) tests/unit/test_vsockd_endpoint.c
vsockd_backpressure_SRCS := $(VSOCKD_LIB_SRCS) $(hostcommon_SRCS) tests/unit/test_vsockd_backpressure.c
vsockd_pool_SRCS := $(VSOCKD_LIB_SRCS) $(hostcommon_SRCS) tests/unit/test_vsockd_pool.c
