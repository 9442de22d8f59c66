UNIT_TESTS += arch_clock
arch_clock_SRCS := kernel/arch/x86_64/clock.c tests/unit/test_arch_clock.c
