# SPDX-License-Identifier: BSD-2-Clause
# Host helpers used by the e2e tests (not installed).
HOSTPROGS += vsock_client
vsock_client_SRCS := tests/tools/vsock_client.c
# bench/oci's client: milliseconds from a start to the first HTTP answer.
HOSTPROGS += http_first
http_first_SRCS := tests/tools/http_first.c host/launcher/probe.c
http_first_HOSTLIBS := hostcommon
