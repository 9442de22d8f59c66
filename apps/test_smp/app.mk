# SPDX-License-Identifier: BSD-2-Clause
# Test appliance for SMP: placement, cross-CPU wake-ups, mutexes, remote
# frees, per-CPU timers, the panic stop (tests/e2e/smp.sh).
APPS += test_smp
test_smp_SRCS := apps/test_smp/main.c
test_smp_COMPONENTS := sched
