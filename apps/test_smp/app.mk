# SPDX-License-Identifier: BSD-2-Clause
# Test appliance for SMP: placement, cross-CPU wake-ups, mutexes, remote
# frees, per-CPU timers, the panic stop, file and socket I/O from every CPU
# (tests/e2e/smp.sh).
APPS += test_smp
test_smp_SRCS := apps/test_smp/main.c apps/test_smp/io.c
test_smp_COMPONENTS := sched fs virtio_fs net virtio_vsock virtio_mmio virtio_pci
