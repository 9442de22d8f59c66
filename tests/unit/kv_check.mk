# SPDX-License-Identifier: BSD-2-Clause
# The key-value store's key and JSON checks (apps/kv/check.c).
UNIT_TESTS += kv_check
kv_check_SRCS := $(KV_PURE_SRCS) tests/unit/test_kv.c
