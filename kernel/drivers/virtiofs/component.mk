# SPDX-License-Identifier: BSD-2-Clause
# virtio_fs: the virtio-fs device driver, the transport under the
# Filesystem unit (it implements struct fuse_conn and mounts by tag).
COMPONENTS += virtio_fs
virtio_fs_SRCS := kernel/drivers/virtiofs/virtiofs.c
virtio_fs_DEPS := virtio fs sched mm lib
