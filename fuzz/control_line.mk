# SPDX-License-Identifier: BSD-2-Clause
# The control socket's command reader (--control of miura-vsockd and miura-proxy).
FUZZERS += control_line
control_line_SRCS := fuzz/control_line.c $(hostcommon_SRCS)
