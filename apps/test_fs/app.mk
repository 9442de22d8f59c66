# SPDX-License-Identifier: BSD-2-Clause
# Test appliance for the Filesystem unit over virtio-fs (tests/e2e/fs.sh).
APPS += test_fs
test_fs_SRCS := apps/test_fs/main.c apps/test_fs/enospc.c apps/test_fs/sha256.c
test_fs_COMPONENTS := sched fs virtio_fs virtio_mmio virtio_pci
