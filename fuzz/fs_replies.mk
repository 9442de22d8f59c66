# SPDX-License-Identifier: BSD-2-Clause
FUZZERS += fs_replies
fs_replies_SRCS := fuzz/fs_replies.c kernel/fs/fuse_msg.c kernel/fs/fuse_client.c \
	kernel/fs/vfs.c kernel/fs/vfs_cache.c kernel/fs/vfs_file.c
