# SPDX-License-Identifier: BSD-2-Clause
# (Not "launcher_args": that is the fuzz target's name, and both share <name>_SRCS.)
UNIT_TESTS += launcher_parse
launcher_parse_SRCS := host/launcher/args.c host/launcher/plan.c tests/unit/test_launcher_parse.c
