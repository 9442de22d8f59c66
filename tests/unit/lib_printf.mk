UNIT_TESTS += lib_printf
lib_printf_SRCS := kernel/lib/printf.c tests/unit/test_lib_printf.c
