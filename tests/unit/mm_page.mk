# SPDX-License-Identifier: BSD-2-Clause
UNIT_TESTS += mm_page
mm_page_SRCS := $(filter %/page.c,$(mm_SRCS)) tests/unit/mm_shim.c tests/unit/test_mm_page.c
