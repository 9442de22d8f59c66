# SPDX-License-Identifier: BSD-2-Clause
# The key-value store appliance: JSON values over HTTP, one file per key on
# the virtio-fs share (docs/kv.md).
APPS += kv
# KV_PURE_SRCS: its input checks without I/O (host tests and fuzzers build them).
KV_PURE_SRCS := apps/kv/check.c
kv_SRCS := apps/kv/main.c $(KV_PURE_SRCS)
kv_COMPONENTS := sched fs net virtio_fs virtio_vsock virtio_mmio http
