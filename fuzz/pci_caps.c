/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Fuzz PCI enumeration, BAR sizing and the virtio-pci capability walk: the
 * input is the configuration space of up to 8 functions (256 bytes each, on
 * buses 0-7, device 0-7 of bus 0 first...), plus for each BAR what it reads
 * back after the sizing probe. Checks what the transport relies on: every
 * window it accepts lies inside a usable BAR below PAGING_MAP_LIMIT, the
 * common window is big enough, the capability walk ends.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "abi/virtio.h"
#include "arch/x86_64/arch.h"
#include "drivers/pci/pci.h"
#include "drivers/virtio/pci/virtio_pci.h"

#define NFN 8

struct fake {
    uint8_t cfg[NFN][PCI_CFG_SPACE];
    uint32_t probe[NFN][PCI_BARS];
};
static struct fake fk;

/* bdf -> one of the NFN functions: bus b device d function 0 is function
 * (b + d) % NFN when b + d < NFN, else nothing; other functions of a slot
 * alias function 0's space (a hostile multi-function device). */
static int index_of(uint16_t bdf)
{
    unsigned bus = bdf >> 8, dev = (bdf >> 3) & 31;
    return bus + dev < NFN ? (int)(bus + dev) : -1;
}

static uint32_t fread_(void *ctx, uint16_t bdf, unsigned off, unsigned width)
{
    (void)ctx;
    int i = index_of(bdf);
    if (off + width > PCI_CFG_SPACE || (off & (width - 1)))
        abort();
    if (i < 0)
        return 0xffffffffu >> (32 - 8 * width);
    uint32_t v = 0;
    memcpy(&v, fk.cfg[i] + off, width);
    return v;
}

static void fwrite_(void *ctx, uint16_t bdf, unsigned off, unsigned width, uint32_t v)
{
    (void)ctx;
    int i = index_of(bdf);
    if (off + width > PCI_CFG_SPACE || (off & (width - 1)))
        abort();
    if (i < 0)
        return;
    if (off >= PCI_BAR0 && off < PCI_BAR0 + 4 * PCI_BARS && width == 4 && v == 0xffffffffu)
        v = fk.probe[i][(off - PCI_BAR0) / 4];
    memcpy(fk.cfg[i] + off, &v, width);
}

static const struct pci_config_ops ops = {.read = fread_, .write = fwrite_};

/* A driver record, as the guest has (virtio-pci's probe needs a guest). */
static int probe(struct pci_device *p)
{
    (void)p;
    return 0;
}
static const struct pci_driver any_virtio = {.name = "fuzz",
                                             .vendor = VIRTIO_PCI_VENDOR,
                                             .device_min = VIRTIO_PCI_DEVICE_FIRST,
                                             .device_max = VIRTIO_PCI_DEVICE_LAST,
                                             .probe = probe};
MIURA_DRIVER(pci, any_virtio);

static void check_window(struct pci_device *p, const struct virtio_pci_window *w)
{
    struct pci_bar b;
    for (unsigned i = 0; i < PCI_BARS; i++) {
        if (pci_bar_get(p, i, &b) == 0 && w->addr >= b.base &&
            w->addr + w->length <= b.base + b.size && b.base + b.size <= PAGING_MAP_LIMIT)
            return;
    }
    abort(); /* a window in no usable BAR */
}

static void found(const struct pci_config_ops *cfg, uint16_t bdf, void *arg)
{
    struct pci_device p;
    struct virtio_pci_caps c;
    (void)arg;
    pci_device_init(&p, cfg, bdf);
    const struct pci_driver *d = pci_driver_for(&p);
    if (d && (p.vendor != VIRTIO_PCI_VENDOR || p.device < VIRTIO_PCI_DEVICE_FIRST ||
              p.device > VIRTIO_PCI_DEVICE_LAST))
        abort();
    for (unsigned cap = 0, n = 0; (cap = pci_capability_next(&p, cap, 0)) != 0; n++)
        if (n > 64 || cap < 0x40 || cap > 0xfc)
            abort(); /* the walk must end, and inside the space */
    int rc = virtio_pci_read_caps(&p, &c);
    if (rc == 0 && (!c.common_found || !c.notify_found))
        abort();
    if (c.common_found) {
        check_window(&p, &c.common);
        if (c.common.length < VIRTIO_PCI_COMMON_LEN)
            abort();
    }
    if (c.notify_found)
        check_window(&p, &c.notify);
    if (c.isr_found)
        check_window(&p, &c.isr);
    if (c.device_found)
        check_window(&p, &c.device);
    if (c.msix_entries) {
        struct virtio_pci_window t = {c.msix_table, c.msix_entries * 16};
        check_window(&p, &t);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    memset(&fk, 0xff, sizeof(fk));
    memcpy(&fk, data, size < sizeof(fk) ? size : sizeof(fk));
    pci_enumerate(&ops, 0, 255, found, NULL);
    return 0;
}
