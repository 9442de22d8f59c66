# SPDX-License-Identifier: BSD-2-Clause
# Host helpers used by the e2e tests (not installed).
HOSTPROGS += vsock_client
vsock_client_SRCS := tests/tools/vsock_client.c
# bench/oci's client: milliseconds from a start to the first HTTP answer.
HOSTPROGS += http_first
http_first_SRCS := tests/tools/http_first.c host/launcher/probe.c
http_first_HOSTLIBS := hostcommon
# e2e clock and bench/clock: a web server's Date against this host's clock.
HOSTPROGS += clock_probe
clock_probe_SRCS := tests/tools/clock_probe.c
