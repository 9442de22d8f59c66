# SPDX-License-Identifier: BSD-2-Clause
UNIT_TESTS += fs_posix
fs_posix_SRCS := kernel/fs/fuse_msg.c kernel/fs/fuse_client.c kernel/fs/vfs.c \
	kernel/fs/vfs_cache.c kernel/fs/vfs_file.c kernel/fs/posix.c \
	tests/unit/fuse_fake.c tests/unit/fs_harness.c tests/unit/test_fs_posix.c
