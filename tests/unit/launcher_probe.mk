# SPDX-License-Identifier: BSD-2-Clause
# Built from the program's source list (host/launcher/prog.mk).
UNIT_TESTS += launcher_probe
launcher_probe_SRCS := $(LAUNCHER_LIB_SRCS) $(hostcommon_SRCS) tests/unit/test_launcher_probe.c
