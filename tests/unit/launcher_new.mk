# SPDX-License-Identifier: BSD-2-Clause
# `miura new`'s name check and template filling (host/launcher/new.c).
UNIT_TESTS += launcher_new
launcher_new_SRCS := $(LAUNCHER_LIB_SRCS) $(hostcommon_SRCS) tests/unit/test_launcher_new.c
