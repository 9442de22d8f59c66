/* SPDX-License-Identifier: BSD-2-Clause */
/* Constants shared by assembly and C in the arch code. */
#ifndef MIURA_ARCH_LAYOUT_H
#define MIURA_ARCH_LAYOUT_H

#define GDT_KERNEL_CS 0x08
#define GDT_KERNEL_DS 0x10
#define GDT_TSS       0x18

#define BOOT_STACK_SIZE (16 * 1024)

/* The page below 1 MiB where application processors start (smp.c): its
 * number is the SIPI vector. Never given to the page allocator. */
#define AP_TRAMPOLINE 0x1000

/* Below 1 MiB, where firmware leaves tables (mapped read-only): the last
 * page of base memory (the EBDA) and the BIOS area up to 1 MiB. */
#define FIRMWARE_EBDA_PAGE 0x9f000
#define FIRMWARE_BIOS      0xe0000
#define IST_STACK_SIZE     (8 * 1024)

/* Interrupt vectors: CPU exceptions first, those with a stack of their own
 * named. Device IRQs (IOAPIC pins) use IRQ_VECTOR_BASE + gsi. */
#define VECTOR_NMI           2
#define VECTOR_DOUBLE_FAULT  8
#define VECTOR_PAGE_FAULT    14
#define VECTOR_MACHINE_CHECK 18
#define VECTOR_EXCEPTIONS    32
#define IRQ_VECTOR_BASE      VECTOR_EXCEPTIONS
#define IRQ_MAX_GSI          48
#define VECTOR_TIMER         0xf0
#define VECTOR_WAKE          0xf1
#define VECTOR_TLB           0xf2
#define VECTOR_SPURIOUS      0xff

/* Entry stubs (isr.S), ISR_STUB_BYTES apart: vectors 0 .. ISR_LOW_LAST
 * from isr_stubs_low, ISR_HIGH_FIRST .. ISR_HIGH_LAST from isr_stubs_high. */
#define ISR_STUB_BYTES 4
#define ISR_LOW_LAST   (IRQ_VECTOR_BASE + IRQ_MAX_GSI - 1)
#define ISR_HIGH_FIRST VECTOR_TIMER
#define ISR_HIGH_LAST  VECTOR_SPURIOUS

#endif
