/* SPDX-License-Identifier: BSD-2-Clause */
#ifndef MIURA_ARCH_GDT_H
#define MIURA_ARCH_GDT_H

/* Interrupt stack table slots (1-based in the IDT). */
#define IST_DOUBLE_FAULT  1
#define IST_NMI           2
#define IST_MACHINE_CHECK 3
#define IST_PAGE_FAULT    4
#define IST_COUNT         4

#endif
