# SPDX-License-Identifier: BSD-2-Clause
# fs: the Filesystem unit: FUSE message layer and client, VFS (mounts,
# paths, caches, descriptors) and the POSIX-shaped file API. The virtio-fs
# transport (drivers) implements struct fuse_conn and calls vfs_mount_tag().
COMPONENTS += fs
fs_SRCS := kernel/fs/fuse_msg.c kernel/fs/fuse_client.c kernel/fs/vfs.c kernel/fs/vfs_cache.c \
	kernel/fs/vfs_file.c kernel/fs/posix.c kernel/fs/virtiofs.c
fs_DEPS := fd lib mm sched virtio
