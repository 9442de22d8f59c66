# SPDX-License-Identifier: BSD-2-Clause
# Host helpers used by the e2e tests (not installed).
HOSTPROGS += vsock_client
vsock_client_SRCS := tests/tools/vsock_client.c
