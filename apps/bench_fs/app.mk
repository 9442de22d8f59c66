# SPDX-License-Identifier: BSD-2-Clause
# Benchmark appliance for bench/fs: sequential read and small-file open/read/close.
APPS += bench_fs
bench_fs_SRCS := apps/bench_fs/main.c
bench_fs_COMPONENTS := sched fs virtio_fs virtio_mmio
