# SPDX-License-Identifier: BSD-2-Clause
UNIT_TESTS += launcher_args
launcher_args_SRCS := host/launcher/args.c host/launcher/plan.c tests/unit/test_launcher_args.c
