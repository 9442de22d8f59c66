# SPDX-License-Identifier: BSD-2-Clause
# Self-confinement (host/common/confine.c): children confine themselves for
# real; namespaces, identity, capabilities, the seccomp filter and SIGSYS.
UNIT_TESTS += confine
confine_SRCS := $(hostconfine_SRCS) $(hostcommon_SRCS) tests/unit/test_confine.c
confine_LIBS := $(CONFINE_LIBS)
