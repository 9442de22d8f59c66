# SPDX-License-Identifier: BSD-2-Clause
UNIT_TESTS += fuse_msg
fuse_msg_SRCS := kernel/fs/fuse_msg.c tests/unit/fuse_linux_abi.c tests/unit/test_fuse_msg.c
