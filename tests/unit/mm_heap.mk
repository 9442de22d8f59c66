UNIT_TESTS += mm_heap
mm_heap_SRCS := kernel/mm/heap.c kernel/mm/page.c tests/unit/mm_shim.c tests/unit/test_mm_heap.c
