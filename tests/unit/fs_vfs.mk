# SPDX-License-Identifier: BSD-2-Clause
UNIT_TESTS += fs_vfs
fs_vfs_SRCS := $(fs_SRCS) $(filter %/fd.c %/sendfile.c,$(fd_SRCS)) $(filter %/posix_result.c,$(lib_SRCS)) \
	tests/unit/fuse_fake.c tests/unit/fs_harness.c tests/unit/test_fs_vfs.c
