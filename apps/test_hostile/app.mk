# SPDX-License-Identifier: BSD-2-Clause
# Test appliance: a hostile guest. It drives the virtio-vsock device with its
# own driver (not the kernel's) and sends what a compromised guest could:
# garbage packets, then rings that loop, point past guest memory or run
# longer than the queue (tests/e2e/hostile.sh, docs/security.md).
APPS += test_hostile
test_hostile_SRCS := apps/test_hostile/main.c apps/test_hostile/rings.c
test_hostile_COMPONENTS := sched virtio_mmio
