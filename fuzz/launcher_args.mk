# SPDX-License-Identifier: BSD-2-Clause
# The launcher's option parsers, built from its source list (host/launcher/prog.mk).
FUZZERS += launcher_args
launcher_args_SRCS := fuzz/launcher_args.c $(hostcommon_SRCS)
