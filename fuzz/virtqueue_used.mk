# SPDX-License-Identifier: BSD-2-Clause
FUZZERS += virtqueue_used
virtqueue_used_SRCS := fuzz/virtqueue_used.c $(filter %/virtqueue.c,$(virtio_SRCS))
