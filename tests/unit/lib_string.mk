UNIT_TESTS += lib_string
lib_string_SRCS := kernel/lib/string.c kernel/lib/strtol.c kernel/lib/errno.c \
	tests/unit/test_lib_string.c
