UNIT_TESTS += lib_cmdline
lib_cmdline_SRCS := kernel/lib/cmdline.c tests/unit/test_lib_cmdline.c
