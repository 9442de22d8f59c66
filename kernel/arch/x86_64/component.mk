# SPDX-License-Identifier: BSD-2-Clause
# arch: PVH entry, long mode, descriptors, traps, paging, LAPIC/IOAPIC, time.
# Its entry hands over to kmain() and new threads to thread_entry(), both the
# Process unit's (sched), which depends on arch, not the other way round.
COMPONENTS += arch
arch_SRCS := $(wildcard kernel/arch/x86_64/*.c kernel/arch/x86_64/*.S)
arch_DEPS := lib mm
