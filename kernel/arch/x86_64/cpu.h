/* SPDX-License-Identifier: BSD-2-Clause */
/* x86-64 instructions the kernel needs, as inline functions. */
#ifndef MIURA_ARCH_CPU_H
#define MIURA_ARCH_CPU_H

#include <stdbool.h>
#include <stdint.h>

/* CPUID names KVM as the hypervisor (set by time_init, at boot). */
extern bool cpu_on_kvm;

static inline void outb(uint16_t port, uint8_t v)
{
    __asm__ volatile("outb %0, %1" : : "a"(v), "Nd"(port));
}
static inline void outw(uint16_t port, uint16_t v)
{
    __asm__ volatile("outw %0, %1" : : "a"(v), "Nd"(port));
}
static inline void outl(uint16_t port, uint32_t v)
{
    __asm__ volatile("outl %0, %1" : : "a"(v), "Nd"(port));
}
static inline uint8_t inb(uint16_t port)
{
    uint8_t v;
    __asm__ volatile("inb %1, %0" : "=a"(v) : "Nd"(port));
    return v;
}

static inline uint16_t inw(uint16_t port)
{
    uint16_t v;
    __asm__ volatile("inw %1, %0" : "=a"(v) : "Nd"(port));
    return v;
}
static inline uint32_t inl(uint16_t port)
{
    uint32_t v;
    __asm__ volatile("inl %1, %0" : "=a"(v) : "Nd"(port));
    return v;
}

static inline __attribute__((always_inline)) uint64_t rdtsc(void)
{
    uint32_t lo, hi;
    __asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
    return ((uint64_t)hi << 32) | lo;
}

static inline uint64_t rdmsr(uint32_t msr)
{
    uint32_t lo, hi;
    __asm__ volatile("rdmsr" : "=a"(lo), "=d"(hi) : "c"(msr));
    return ((uint64_t)hi << 32) | lo;
}
static inline void wrmsr(uint32_t msr, uint64_t v)
{
    __asm__ volatile("wrmsr" : : "c"(msr), "a"((uint32_t)v), "d"((uint32_t)(v >> 32)) : "memory");
}

static inline void cpuid(uint32_t leaf, uint32_t sub, uint32_t *a, uint32_t *b, uint32_t *c,
                         uint32_t *d)
{
    __asm__ volatile("cpuid" : "=a"(*a), "=b"(*b), "=c"(*c), "=d"(*d) : "a"(leaf), "c"(sub));
}

static inline uint64_t read_cr2(void)
{
    uint64_t v;
    __asm__ volatile("mov %%cr2, %0" : "=r"(v));
    return v;
}
static inline uint64_t read_cr3(void)
{
    uint64_t v;
    __asm__ volatile("mov %%cr3, %0" : "=r"(v));
    return v;
}
static inline void write_cr3(uint64_t v)
{
    __asm__ volatile("mov %0, %%cr3" : : "r"(v) : "memory");
}
static inline void invlpg(uintptr_t addr)
{
    __asm__ volatile("invlpg (%0)" : : "r"(addr) : "memory");
}

/* Interrupt flag. irq_save returns the old RFLAGS and disables interrupts. */
static inline uint64_t irq_save(void)
{
    uint64_t flags;
    __asm__ volatile("pushfq; popq %0; cli" : "=r"(flags) : : "memory");
    return flags;
}
static inline void irq_restore(uint64_t flags)
{
    if (flags & (1u << 9))
        __asm__ volatile("sti" : : : "memory");
}
static inline void irq_disable(void)
{
    __asm__ volatile("cli" : : : "memory");
}
static inline void irq_enable(void)
{
    __asm__ volatile("sti" : : : "memory");
}
static inline bool irq_enabled(void)
{
    uint64_t flags;
    __asm__ volatile("pushfq; popq %0" : "=r"(flags));
    return flags & (1u << 9);
}
/* Enables interrupts and halts; the STI shadow makes the pair atomic, so an
 * interrupt that became pending before it still ends the halt. */
static inline void irq_enable_and_halt(void)
{
    __asm__ volatile("sti; hlt" : : : "memory");
}

/* Device registers in the uncached MMIO window (paging.c). Host unit tests
 * stand in for the device: there these are theirs. */
#ifndef MIURA_HOST_TEST
static inline uint32_t mmio_read32(uintptr_t addr)
{
    return *(volatile uint32_t *)addr;
}
static inline uint8_t mmio_read8(uintptr_t addr)
{
    return *(volatile uint8_t *)addr;
}
static inline void mmio_write32(uintptr_t addr, uint32_t v)
{
    *(volatile uint32_t *)addr = v;
}
static inline uint16_t mmio_read16(uintptr_t addr)
{
    return *(volatile uint16_t *)addr;
}
static inline void mmio_write16(uintptr_t addr, uint16_t v)
{
    *(volatile uint16_t *)addr = v;
}
static inline void mmio_write8(uintptr_t addr, uint8_t v)
{
    *(volatile uint8_t *)addr = v;
}
#else
uint32_t mmio_read32(uintptr_t addr);
uint8_t mmio_read8(uintptr_t addr);
void mmio_write32(uintptr_t addr, uint32_t v);
uint16_t mmio_read16(uintptr_t addr);
void mmio_write16(uintptr_t addr, uint16_t v);
void mmio_write8(uintptr_t addr, uint8_t v);
#endif

static inline void cpu_relax(void)
{
    __asm__ volatile("pause" : : : "memory");
}

#define MSR_EFER         0xc0000080
#define MSR_GS_BASE      0xc0000101
#define MSR_TSC_DEADLINE 0x6e0
#define MSR_APIC_BASE    0x1b

#endif
