UNIT_TESTS += mm_page
mm_page_SRCS := kernel/mm/page.c tests/unit/mm_shim.c tests/unit/test_mm_page.c
