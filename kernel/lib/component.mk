# SPDX-License-Identifier: BSD-2-Clause
# lib: the small freestanding C library. It needs console_write (arch),
# malloc (mm, for strdup) and miura_errno_location (sched: errno is per
# thread), which every appliance links, and nothing else.
COMPONENTS += lib
lib_SRCS := kernel/lib/printf.c kernel/lib/string.c kernel/lib/strtol.c \
	kernel/lib/cmdline.c kernel/lib/posix_result.c \
	kernel/lib/getarg.c
lib_DEPS :=
