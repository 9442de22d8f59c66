# SPDX-License-Identifier: BSD-2-Clause
UNIT_TESTS += virtqueue
virtqueue_SRCS := $(filter %/virtqueue.c,$(virtio_SRCS)) tests/unit/test_virtqueue.c
