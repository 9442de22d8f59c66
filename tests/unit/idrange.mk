# SPDX-License-Identifier: BSD-2-Clause
# Per-instance identities (host/common/idrange.c): the range's sources, the
# subordinate id files, the locks.
UNIT_TESTS += idrange
idrange_SRCS := $(hostcommon_SRCS) tests/unit/test_idrange.c
