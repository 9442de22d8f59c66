# SPDX-License-Identifier: BSD-2-Clause
# (Not "launcher_args": that is the fuzz target's name, and both share <name>_SRCS.)
# Built from the program's source list (host/launcher/prog.mk).
UNIT_TESTS += launcher_parse
launcher_parse_SRCS := $(LAUNCHER_LIB_SRCS) $(hostcommon_SRCS) tests/unit/test_launcher_parse.c
