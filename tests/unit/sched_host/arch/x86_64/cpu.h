/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Host stand-in for kernel/arch/x86_64/cpu.h, for tests/unit/sched_tsan.mk:
 * found first through -iquote, so kernel/sched/sched.c and the real arch.h
 * compile unchanged on the host. The interrupt flag, halt and MSR writes are
 * tests/unit/sched_host.c's (a simulated CPU per pthread); the rest of the
 * real header (port I/O, control registers) has no place in a user process.
 */
#ifndef MIURA_ARCH_CPU_H
#define MIURA_ARCH_CPU_H

#include <stdbool.h>
#include <stdint.h>

static inline uint64_t rdtsc(void)
{
    return __builtin_ia32_rdtsc();
}

/* MSR_GS_BASE sets the calling pthread's %gs base (arch_prctl), so
 * this_cpu() and the lock mask read %gs as in the guest. */
void wrmsr(uint32_t msr, uint64_t v);

/* The simulated CPU's interrupt flag: interrupts that came while it was
 * off (a wake-up from another CPU, the CPU's timer) are taken when it goes
 * on, and irq_enable_and_halt sleeps until one comes. */
uint64_t irq_save(void);
void irq_restore(uint64_t flags);
void irq_disable(void);
void irq_enable(void);
bool irq_enabled(void);
void irq_enable_and_halt(void);

static inline void cpu_relax(void)
{
    __asm__ volatile("pause" : : : "memory");
}

#define MSR_GS_BASE 0xc0000101

#endif
