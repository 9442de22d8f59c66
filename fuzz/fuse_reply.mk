# SPDX-License-Identifier: BSD-2-Clause
FUZZERS += fuse_reply
fuse_reply_SRCS := fuzz/fuse_reply.c $(filter %/fuse_msg.c,$(fs_SRCS))
