/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Power-off. QEMU's isa-debug-exit device (iobase 0xf4, iosize 4) ends QEMU
 * with status (value << 1) | 1. Where it is absent the write is ignored, and a
 * triple fault stops the VM (QEMU exits 0 under -no-reboot).
 */
#include <stdarg.h>
#include <stdio.h>

#include "arch/x86_64/arch.h"

#define DEBUG_EXIT_PORT 0xf4

_Noreturn void arch_poweroff(int status)
{
    irq_disable();
    outl(DEBUG_EXIT_PORT, (uint32_t)status);
    /* Still here: no exit device. Triple fault with an empty IDT. */
    static const struct __attribute__((packed)) {
        uint16_t limit;
        uint64_t base;
    } empty_idt = {0, 0};
    __asm__ volatile("lidt %0; int3" : : "m"(empty_idt));
    for (;;)
        __asm__ volatile("hlt");
}

_Noreturn void miura_poweroff(int status)
{
    arch_poweroff(status);
}

_Noreturn void panic(const char *fmt, ...)
{
    va_list ap;
    irq_disable();
    smp_stop_others();
    printf("\npanic: ");
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    printf("\n");
    backtrace_print((uint64_t)__builtin_frame_address(0), (uint64_t)&panic);
    arch_poweroff(MIURA_EXIT_CRASH);
}

_Noreturn void exit(int status)
{
    arch_poweroff(status);
}

_Noreturn void abort(void)
{
    panic("abort() called");
}
