# SPDX-License-Identifier: BSD-2-Clause
# fs: the Filesystem unit: FUSE message layer and client, VFS (mounts,
# paths, caches, open files) and the POSIX-shaped file API. A transport
# implements struct fuse_conn and calls vfs_mount_tag(): the app lists it
# (virtio_fs).
COMPONENTS += fs
fs_SRCS := kernel/fs/fuse_msg.c kernel/fs/fuse_client.c kernel/fs/vfs.c kernel/fs/vfs_cache.c \
	kernel/fs/vfs_file.c kernel/fs/posix.c
fs_DEPS := fd lib mm
