# arch: PVH entry, long mode, descriptors, traps, paging, LAPIC/IOAPIC, time.
COMPONENTS += arch
arch_SRCS := $(wildcard kernel/arch/x86_64/*.c kernel/arch/x86_64/*.S)
arch_DEPS := lib mm sched
