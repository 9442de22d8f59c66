# SPDX-License-Identifier: BSD-2-Clause
# lib: the small freestanding C library. It needs console_write (arch, which
# every appliance links), malloc (mm, for strdup) and nothing else.
COMPONENTS += lib
lib_SRCS := kernel/lib/printf.c kernel/lib/string.c kernel/lib/strtol.c kernel/lib/errno.c \
	kernel/lib/cmdline.c kernel/lib/posix_result.c
lib_DEPS :=
