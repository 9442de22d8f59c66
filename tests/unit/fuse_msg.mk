# SPDX-License-Identifier: BSD-2-Clause
UNIT_TESTS += fuse_msg
fuse_msg_SRCS := $(filter %/fuse_msg.c,$(fs_SRCS)) tests/unit/fuse_linux_abi.c \
	tests/unit/test_fuse_msg.c
