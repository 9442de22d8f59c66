# SPDX-License-Identifier: BSD-2-Clause
# The Linux build's stand-ins (sdk/linux): paths inside the share, and
# miura/thread.h on POSIX threads taking turns as the guest's do.
UNIT_TESTS += sdk_linux
sdk_linux_SRCS := sdk/linux/path.c sdk/linux/thread.c tests/unit/test_sdk_linux.c
sdk_linux_LIBS := -pthread
