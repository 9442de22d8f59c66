/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * IOAPICs. QEMU microvm has one at 0xfec00000 (GSIs 0-23) and, with
 * ioapic2 (its default), a second at 0xfec10000 (GSIs 24-47) where its
 * virtio-mmio devices sit. Without ACPI or MP tables we probe both bases and
 * keep the ones whose version register is sane. Every pin starts masked.
 */
#include <errno.h>
#include <stdio.h>

#include "arch/x86_64/arch.h"

#define IOAPIC_REG_VER   0x01
#define IOAPIC_REG_REDIR 0x10
#define REDIR_MASKED     (1u << 16)
#define REDIR_LEVEL      (1u << 15)

struct ioapic {
    volatile uint32_t *base;
    unsigned gsi_base, pins;
};
static struct ioapic ioapics[2];
static unsigned ioapic_count;

static uint32_t ioapic_read(struct ioapic *io, unsigned reg)
{
    io->base[0] = reg;
    return io->base[4];
}
static void ioapic_write(struct ioapic *io, unsigned reg, uint32_t v)
{
    io->base[0] = reg;
    io->base[4] = v;
}

static void ioapic_probe(uintptr_t addr, unsigned gsi_base)
{
    struct ioapic *io = &ioapics[ioapic_count];
    io->base = (volatile uint32_t *)addr;
    uint32_t ver = ioapic_read(io, IOAPIC_REG_VER);
    unsigned version = ver & 0xff, pins = ((ver >> 16) & 0xff) + 1;
    if (version < 0x11 || version > 0x20 || pins < 2 || gsi_base + pins > IRQ_MAX_GSI)
        return;
    io->gsi_base = gsi_base;
    io->pins = pins;
    for (unsigned p = 0; p < pins; p++) {
        ioapic_write(io, IOAPIC_REG_REDIR + 2 * p, REDIR_MASKED);
        ioapic_write(io, IOAPIC_REG_REDIR + 2 * p + 1, 0);
    }
    ioapic_count++;
}

void ioapic_init(void)
{
    ioapic_probe(0xfec00000, 0);
    if (ioapic_count == 1)
        ioapic_probe(0xfec10000, ioapics[0].pins);
    if (ioapic_count == 0)
        printf("ioapic: none found; device interrupts unavailable\n");
}

bool ioapic_has_gsi(unsigned gsi)
{
    for (unsigned i = 0; i < ioapic_count; i++)
        if (gsi >= ioapics[i].gsi_base && gsi < ioapics[i].gsi_base + ioapics[i].pins)
            return true;
    return false;
}

/* Writes gsi's redirection entry: -EINVAL if no IOAPIC has that pin. */
static int redirect(unsigned gsi, uint32_t low, uint32_t high)
{
    for (unsigned i = 0; i < ioapic_count; i++) {
        struct ioapic *io = &ioapics[i];
        if (gsi < io->gsi_base || gsi >= io->gsi_base + io->pins)
            continue;
        unsigned pin = gsi - io->gsi_base;
        ioapic_write(io, IOAPIC_REG_REDIR + 2 * pin + 1, high);
        ioapic_write(io, IOAPIC_REG_REDIR + 2 * pin, low);
        return 0;
    }
    return -EINVAL;
}

int ioapic_route(unsigned gsi, unsigned vector, bool level, unsigned dest_apic)
{
    return redirect(gsi, vector | (level ? REDIR_LEVEL : 0), dest_apic << 24);
}

void ioapic_mask(unsigned gsi)
{
    (void)redirect(gsi, REDIR_MASKED, 0);
}
