# SPDX-License-Identifier: BSD-2-Clause
# miura-vsockd: vhost-user-vsock device backend (see docs/vsockd.md).
# VSOCKD_LIB_SRCS is everything but main.c; unit tests and fuzz targets build
# it (with the host library's sources) against their fakes.
VSOCKD_LIB_SRCS := host/vsockd/vring.c host/vsockd/vhost_user.c host/vsockd/conn.c \
	host/vsockd/device.c host/vsockd/endpoint.c host/vsockd/retry.c \
	host/vsockd/pool.c
HOSTPROGS += miura-vsockd
miura-vsockd_SRCS := $(VSOCKD_LIB_SRCS) host/vsockd/main.c
miura-vsockd_HOSTLIBS := hostconfine hostcommon
miura-vsockd_LIBS := $(CONFINE_LIBS)

# Test-only: miura-vsockd that makes a forbidden system call on a control
# request (tests/e2e/security.sh: the launcher reports the SIGSYS end).
HOSTPROGS += miura-vsockd-forbidden
miura-vsockd-forbidden_SRCS := $(miura-vsockd_SRCS) tests/vsockd/forbidden.c
miura-vsockd-forbidden_HOSTLIBS := hostconfine hostcommon
miura-vsockd-forbidden_LIBS := $(CONFINE_LIBS)

# The end-to-end test driver: a vhost-user frontend and fake guest (tests/vsockd/).
HOSTPROGS += vsockd-driver
vsockd-driver_SRCS := tests/vsockd/driver.c tests/vsockd/frontend.c tests/vsockd/guest.c \
	tests/vsockd/host_io.c
vsockd-driver_LIBS := -lpthread
