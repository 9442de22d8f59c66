UNIT_TESTS += arch_memmap
arch_memmap_SRCS := kernel/arch/x86_64/memmap.c tests/unit/test_arch_memmap.c
