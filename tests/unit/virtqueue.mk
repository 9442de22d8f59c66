# SPDX-License-Identifier: BSD-2-Clause
UNIT_TESTS += virtqueue
virtqueue_SRCS := kernel/drivers/virtio/virtqueue.c tests/unit/test_virtqueue.c
