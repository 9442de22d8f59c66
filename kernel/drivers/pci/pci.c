/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * PCI configuration space, enumeration, BAR sizing and the capability walk
 * (contract in pci.h). Pure: configuration space comes through struct
 * pci_config_ops, so host tests run all of it on fake, hostile functions.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "arch/x86_64/arch.h"
#include "drivers/pci/pci.h"

#define BAR_IO        1u
#define BAR_TYPE_MASK 6u
#define BAR_TYPE_64   4u
#define BAR_TYPE_32   0u
#define BAR_FLAGS     0xfu
#define CAP_FIRST     0x40u
#define CAP_LAST      0xfcu
#define CAP_STEPS     ((PCI_CFG_SPACE - CAP_FIRST) / 4)

MIURA_DRIVERS_OF(pci);

uint32_t pci_read32(const struct pci_device *p, unsigned offset)
{
    return p->cfg->read(p->cfg->ctx, p->bdf, offset, 4);
}
uint16_t pci_read16(const struct pci_device *p, unsigned offset)
{
    return (uint16_t)p->cfg->read(p->cfg->ctx, p->bdf, offset, 2);
}
uint8_t pci_read8(const struct pci_device *p, unsigned offset)
{
    return (uint8_t)p->cfg->read(p->cfg->ctx, p->bdf, offset, 1);
}
void pci_write32(const struct pci_device *p, unsigned offset, uint32_t v)
{
    p->cfg->write(p->cfg->ctx, p->bdf, offset, 4, v);
}
void pci_write16(const struct pci_device *p, unsigned offset, uint16_t v)
{
    p->cfg->write(p->cfg->ctx, p->bdf, offset, 2, v);
}

void pci_device_init(struct pci_device *p, const struct pci_config_ops *cfg, uint16_t bdf)
{
    memset(p, 0, sizeof(*p));
    p->cfg = cfg;
    p->bdf = bdf;
    p->vendor = pci_read16(p, PCI_VENDOR_ID);
    p->device = pci_read16(p, PCI_DEVICE_ID);
    p->revision = pci_read8(p, PCI_REVISION);
    p->header_type = pci_read8(p, PCI_HEADER_TYPE);
    snprintf(p->name, sizeof(p->name), "pci %02x:%02x.%x", bdf >> 8, (bdf >> 3) & 31, bdf & 7);
}

/* Sizes BAR index (PCI 3.0 §6.2.5.1) with memory decoding off, so that the
 * all-ones probe never decodes as an address; restores both. */
static int bar_size(struct pci_device *p, unsigned index, struct pci_bar *bar)
{
    unsigned reg = PCI_BAR0 + 4 * index;
    uint32_t lo = pci_read32(p, reg), hi = 0, lo_mask, hi_mask = 0xffffffffu;
    if (lo & BAR_IO)
        return -ENOENT; /* I/O space: not used */
    bool wide = (lo & BAR_TYPE_MASK) == BAR_TYPE_64;
    if (!wide && (lo & BAR_TYPE_MASK) != BAR_TYPE_32)
        return -EINVAL; /* a reserved type */
    if (wide && index + 1 >= PCI_BARS)
        return -EINVAL;
    uint16_t command = pci_read16(p, PCI_COMMAND);
    pci_write16(p, PCI_COMMAND, command & ~PCI_COMMAND_MEMORY);
    pci_write32(p, reg, 0xffffffffu);
    lo_mask = pci_read32(p, reg);
    pci_write32(p, reg, lo);
    if (wide) {
        hi = pci_read32(p, reg + 4);
        pci_write32(p, reg + 4, 0xffffffffu);
        hi_mask = pci_read32(p, reg + 4);
        pci_write32(p, reg + 4, hi);
    }
    pci_write16(p, PCI_COMMAND, command);

    uint64_t mask = ((uint64_t)hi_mask << 32) | (lo_mask & ~BAR_FLAGS);
    uint64_t size = ~mask + 1, base = ((uint64_t)hi << 32) | (lo & ~BAR_FLAGS);
    if (mask == 0 || size < 16 || (size & (size - 1)))
        return -EINVAL; /* size 0 (or 2^64), or not a power of two */
    if (base == 0 || (base & (size - 1)) || base >= PAGING_MAP_LIMIT ||
        size > PAGING_MAP_LIMIT - base)
        return -EINVAL; /* unassigned, misaligned, or beyond what can be mapped */
    *bar = (struct pci_bar){.base = base, .size = size, .sized = true, .usable = true};
    return 0;
}

int pci_bar_get(struct pci_device *p, unsigned index, struct pci_bar *bar)
{
    if (index >= PCI_BARS || (p->header_type & 0x7f) != 0)
        return -ENOENT;
    /* Is index the upper half of a 64-bit BAR? Walk the slots from 0. */
    for (unsigned i = 0; i < index;) {
        uint32_t v = pci_read32(p, PCI_BAR0 + 4 * i);
        i += (!(v & BAR_IO) && (v & BAR_TYPE_MASK) == BAR_TYPE_64) ? 2 : 1;
        if (i > index)
            return -ENOENT;
    }
    struct pci_bar *b = &p->bars[index];
    if (!b->sized) {
        int rc = bar_size(p, index, b);
        b->sized = true;
        if (rc == -ENOENT)
            return rc;
        b->usable = rc == 0;
    }
    if (!b->usable)
        return -EINVAL;
    *bar = *b;
    return 0;
}

unsigned pci_capability_next(const struct pci_device *p, unsigned after, uint8_t id)
{
    if (!(pci_read16(p, PCI_STATUS) & PCI_STATUS_CAPS))
        return 0;
    uint64_t seen = 0; /* one bit per dword from CAP_FIRST */
    bool past = after == 0;
    unsigned ptr = pci_read8(p, PCI_CAPABILITIES) & ~3u;
    for (unsigned steps = 0; steps < CAP_STEPS && ptr >= CAP_FIRST && ptr <= CAP_LAST; steps++) {
        uint64_t bit = 1ull << ((ptr - CAP_FIRST) / 4);
        if (seen & bit)
            return 0; /* a loop */
        seen |= bit;
        if (past && (id == 0 || pci_read8(p, ptr) == id))
            return ptr;
        if (ptr == after)
            past = true;
        ptr = pci_read8(p, ptr + 1) & ~3u;
    }
    return 0;
}

static uint16_t bdf_of(unsigned bus, unsigned dev, unsigned fn)
{
    return (uint16_t)(bus << 8 | dev << 3 | fn);
}

unsigned pci_enumerate(const struct pci_config_ops *cfg, unsigned bus_first, unsigned bus_last,
                       pci_found_fn found, void *arg)
{
    uint8_t pending[256];
    uint32_t seen[256 / 32] = {0};
    unsigned npending = 0, nbuses = 0, nfound = 0;
    if (bus_first > bus_last || bus_last > 255)
        return 0;
    pending[npending++] = (uint8_t)bus_first;
    seen[bus_first / 32] |= 1u << (bus_first % 32);
    while (npending) {
        unsigned bus = pending[--npending];
        nbuses++;
        for (unsigned dev = 0; dev < 32; dev++) {
            for (unsigned fn = 0; fn < 8; fn++) {
                uint16_t bdf = bdf_of(bus, dev, fn);
                uint16_t vendor = (uint16_t)cfg->read(cfg->ctx, bdf, PCI_VENDOR_ID, 2);
                if (vendor == 0xffff || vendor == 0) {
                    if (fn == 0)
                        break; /* no device in this slot */
                    continue;
                }
                uint8_t type = (uint8_t)cfg->read(cfg->ctx, bdf, PCI_HEADER_TYPE, 1);
                if ((type & 0x7f) == 0 && nfound < PCI_MAX_FUNCTIONS) {
                    nfound++;
                    found(cfg, bdf, arg);
                } else if ((type & 0x7f) == 1) { /* a PCI-to-PCI bridge */
                    unsigned sec = (uint8_t)cfg->read(cfg->ctx, bdf, PCI_SECONDARY_BUS, 1);
                    if (sec > bus && sec <= bus_last && !(seen[sec / 32] & (1u << (sec % 32)))) {
                        seen[sec / 32] |= 1u << (sec % 32);
                        pending[npending++] = (uint8_t)sec;
                    }
                }
                if (fn == 0 && !(type & 0x80))
                    break; /* not a multi-function device */
            }
        }
    }
    return nbuses;
}

const struct pci_driver *pci_driver_for(const struct pci_device *p)
{
    for (const void *const *r = __start_miura_drivers_pci; r < __stop_miura_drivers_pci; r++) {
        const struct pci_driver *d = *r;
        if (d->vendor == p->vendor && p->device >= d->device_min && p->device <= d->device_max)
            return d;
    }
    return NULL;
}
