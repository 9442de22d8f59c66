# SPDX-License-Identifier: BSD-2-Clause
# The key-value store's key and JSON checks (examples/kv/check.c).
UNIT_TESTS += kv_check
kv_check_SRCS := examples/kv/check.c tests/unit/test_kv.c
