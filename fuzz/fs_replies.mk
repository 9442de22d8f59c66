# SPDX-License-Identifier: BSD-2-Clause
# The VFS and FUSE client (not the POSIX layer) against hostile replies.
FUZZERS += fs_replies
fs_replies_SRCS := fuzz/fs_replies.c $(filter-out %/posix.c,$(fs_SRCS))
