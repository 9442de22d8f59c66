# SPDX-License-Identifier: BSD-2-Clause
FUZZERS += launcher_args
launcher_args_SRCS := fuzz/launcher_args.c host/launcher/args.c
