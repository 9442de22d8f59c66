# SPDX-License-Identifier: BSD-2-Clause
UNIT_TESTS += mm_heap
mm_heap_SRCS := $(mm_SRCS) tests/unit/mm_shim.c tests/unit/test_mm_heap.c
