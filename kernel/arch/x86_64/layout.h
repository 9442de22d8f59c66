/* SPDX-License-Identifier: BSD-2-Clause */
/* Constants shared by assembly and C in the arch code. */
#ifndef MIURA_ARCH_LAYOUT_H
#define MIURA_ARCH_LAYOUT_H

#define GDT_KERNEL_CS 0x08
#define GDT_KERNEL_DS 0x10
#define GDT_TSS       0x18

#define BOOT_STACK_SIZE (16 * 1024)
#define IST_STACK_SIZE  (8 * 1024)

/* Interrupt vectors. Device IRQs (IOAPIC pins) use IRQ_VECTOR_BASE + gsi. */
#define IRQ_VECTOR_BASE 32
#define IRQ_MAX_GSI     48
#define VECTOR_TIMER    0xf0
#define VECTOR_WAKE     0xf1
#define VECTOR_SPURIOUS 0xff

#endif
