# SPDX-License-Identifier: BSD-2-Clause
# The launcher's walk over the kernel's socket-diagnostics dump (a stop's
# count of the connections in flight).
FUZZERS += tcp_diag
tcp_diag_SRCS := fuzz/tcp_diag.c host/launcher/listeners.c $(hostcommon_SRCS)
