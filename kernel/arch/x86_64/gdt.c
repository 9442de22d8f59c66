/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * GDT and TSS. Ring 0 only, so the TSS exists for its interrupt stack table:
 * double fault, NMI, machine check and page fault each get their own stack,
 * so a kernel stack overflow (a page fault on the guard page, which cannot
 * push onto the dead stack) still reaches the crash report. Every CPU has
 * its own GDT, TSS and interrupt stacks.
 */
#include <string.h>

#include "arch/x86_64/arch.h"
#include "arch/x86_64/gdt.h"

struct __attribute__((packed)) tss {
    uint32_t reserved0;
    uint64_t rsp[3];
    uint64_t reserved1;
    uint64_t ist[7];
    uint64_t reserved2;
    uint16_t reserved3;
    uint16_t iomap_base;
};

/* One CPU's descriptor tables; the boot CPU's are static, each application
 * processor's are in the block smp.c allocates for it (gdt_cpu_bytes). */
struct cpu_tables {
    uint64_t gdt[5];
    struct tss tss;
};

static struct cpu_tables boot_tables;
static uint8_t ist_stacks[IST_COUNT][IST_STACK_SIZE] __attribute__((aligned(16)));

const size_t gdt_cpu_bytes = IST_COUNT * IST_STACK_SIZE + sizeof(struct cpu_tables);

static void gdt_load(struct cpu_tables *t, uint8_t *ist)
{
    uint64_t base = (uint64_t)&t->tss;
    uint64_t limit = sizeof(t->tss) - 1;
    uint64_t *gdt = t->gdt;

    gdt[0] = 0;
    gdt[1] = 0x00af9b000000ffffull; /* 64-bit code, ring 0, accessed */
    gdt[2] = 0x00cf93000000ffffull; /* data */
    /* 16-byte available 64-bit TSS descriptor (type 9, present). */
    gdt[3] = (limit & 0xffff) | ((base & 0xffffff) << 16) | (0x89ull << 40) |
             (((limit >> 16) & 0xf) << 48) | (((base >> 24) & 0xff) << 56);
    gdt[4] = base >> 32;

    for (int i = 0; i < IST_COUNT; i++)
        t->tss.ist[i] = (uint64_t)(ist + (i + 1) * IST_STACK_SIZE);
    t->tss.iomap_base = sizeof(t->tss); /* no I/O bitmap */

    struct __attribute__((packed)) {
        uint16_t limit;
        uint64_t base;
    } desc = {sizeof(t->gdt) - 1, (uint64_t)gdt};
    __asm__ volatile("lgdt %0\n\t"
                     "pushq %1\n\t"
                     "leaq 1f(%%rip), %%rax\n\t"
                     "pushq %%rax\n\t"
                     "lretq\n"
                     "1:\n\t"
                     "movl %2, %%eax\n\t"
                     "movl %%eax, %%ds\n\t"
                     "movl %%eax, %%es\n\t"
                     "movl %%eax, %%ss\n\t"
                     "ltr %w3"
                     :
                     : "m"(desc), "i"(GDT_KERNEL_CS), "i"(GDT_KERNEL_DS), "r"(GDT_TSS)
                     : "rax", "memory");
}

void gdt_init(void)
{
    gdt_load(&boot_tables, &ist_stacks[0][0]);
}

/* An application processor's, in a zeroed block of gdt_cpu_bytes: the
 * interrupt stacks, then the tables. */
void gdt_init_cpu(void *block)
{
    gdt_load((struct cpu_tables *)((uint8_t *)block + IST_COUNT * IST_STACK_SIZE), block);
}
