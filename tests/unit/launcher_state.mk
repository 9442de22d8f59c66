# SPDX-License-Identifier: BSD-2-Clause
UNIT_TESTS += launcher_state
launcher_state_SRCS := host/launcher/cidlock.c host/launcher/instance.c \
	tests/unit/test_launcher_state.c
