/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * PCI enumeration, BAR sizing, the capability walk and the virtio-pci
 * capability reader, on a fake configuration space: functions are byte
 * arrays, BARs answer the sizing probe through a mask of writable bits, and
 * hostile functions (loops, pointers outside the space, bridges back to
 * their own bus, BARs of size 0, misaligned or beyond what can be mapped,
 * windows past their BAR) must be refused or ignored, never followed.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "abi/virtio.h"
#include "arch/x86_64/arch.h"
#include "drivers/pci/pci.h"
#include "drivers/virtio/pci/virtio_pci.h"
#include "test.h"

#define NBUS 4

struct fake_fn {
    bool present;
    uint8_t cfg[PCI_CFG_SPACE];
    uint32_t bar_writable[PCI_BARS]; /* the bits a BAR keeps of a write */
    uint32_t bar_probe[PCI_BARS];    /* if not 0: what all ones read back as (a liar) */
};

static struct fake_fn fns[NBUS][32][8];
static unsigned bar_writes_decoding; /* BAR writes while memory decoding was on */

static struct fake_fn *fn_at(uint16_t bdf)
{
    unsigned bus = bdf >> 8;
    return bus < NBUS ? &fns[bus][(bdf >> 3) & 31][bdf & 7] : NULL;
}

static uint32_t fake_read(void *ctx, uint16_t bdf, unsigned offset, unsigned width)
{
    (void)ctx;
    struct fake_fn *f = fn_at(bdf);
    if (offset + width > PCI_CFG_SPACE || (offset & (width - 1)))
        abort(); /* the code under test must never ask for this */
    if (!f || !f->present)
        return width == 4 ? 0xffffffffu : width == 2 ? 0xffffu : 0xffu;
    uint32_t v = 0;
    memcpy(&v, f->cfg + offset, width);
    return v;
}

static void fake_write(void *ctx, uint16_t bdf, unsigned offset, unsigned width, uint32_t v)
{
    (void)ctx;
    struct fake_fn *f = fn_at(bdf);
    if (offset + width > PCI_CFG_SPACE || (offset & (width - 1)))
        abort();
    if (!f || !f->present)
        return;
    if (offset >= PCI_BAR0 && offset < PCI_BAR0 + 4 * PCI_BARS && width == 4) {
        uint32_t keep = f->bar_writable[(offset - PCI_BAR0) / 4], old;
        uint16_t command;
        memcpy(&command, f->cfg + PCI_COMMAND, 2);
        if (command & PCI_COMMAND_MEMORY)
            bar_writes_decoding++;
        memcpy(&old, f->cfg + offset, 4);
        if (v == 0xffffffffu && f->bar_probe[(offset - PCI_BAR0) / 4])
            v = f->bar_probe[(offset - PCI_BAR0) / 4];
        else
            v = (v & keep) | (old & ~keep);
    }
    memcpy(f->cfg + offset, &v, width);
}

static const struct pci_config_ops ops = {.read = fake_read, .write = fake_write};

static void put16(struct fake_fn *f, unsigned off, uint16_t v)
{
    memcpy(f->cfg + off, &v, 2);
}
static void put32(struct fake_fn *f, unsigned off, uint32_t v)
{
    memcpy(f->cfg + off, &v, 4);
}
static uint32_t get32(struct fake_fn *f, unsigned off)
{
    uint32_t v;
    memcpy(&v, f->cfg + off, 4);
    return v;
}

static struct fake_fn *make_fn(unsigned bus, unsigned dev, unsigned fn, uint16_t vendor,
                               uint16_t device, uint8_t header)
{
    struct fake_fn *f = &fns[bus][dev][fn];
    memset(f, 0, sizeof(*f));
    f->present = true;
    put16(f, PCI_VENDOR_ID, vendor);
    put16(f, PCI_DEVICE_ID, device);
    f->cfg[PCI_HEADER_TYPE] = header;
    return f;
}

static struct fake_fn *make_bridge(unsigned bus, unsigned dev, uint8_t secondary)
{
    struct fake_fn *f = make_fn(bus, dev, 0, 0x1b36, 0x000c, 1);
    f->cfg[PCI_SECONDARY_BUS] = secondary;
    return f;
}

/* A 32-bit memory BAR of `size` at base (size 0: unimplemented). */
static void bar32(struct fake_fn *f, unsigned i, uint32_t base, uint32_t size)
{
    put32(f, PCI_BAR0 + 4 * i, base);
    f->bar_writable[i] = size ? ~(size - 1) & ~0xfu : 0;
}

/* A 64-bit memory BAR in slots i, i+1. */
static void bar64(struct fake_fn *f, unsigned i, uint64_t base, uint64_t size)
{
    put32(f, PCI_BAR0 + 4 * i, (uint32_t)base | 4);
    put32(f, PCI_BAR0 + 4 * i + 4, (uint32_t)(base >> 32));
    f->bar_writable[i] = size ? (uint32_t) ~(size - 1) & ~0xfu : 0;
    f->bar_writable[i + 1] = size ? (uint32_t)(~(size - 1) >> 32) : 0;
}

static void reset(void)
{
    memset(fns, 0, sizeof(fns));
    bar_writes_decoding = 0;
}

/* ---- enumeration */

struct found_list {
    unsigned n;
    uint16_t bdf[300];
};

static void collect(const struct pci_config_ops *cfg, uint16_t bdf, void *arg)
{
    struct found_list *l = arg;
    (void)cfg;
    if (l->n < 300)
        l->bdf[l->n++] = bdf;
}

static bool has(const struct found_list *l, unsigned bus, unsigned dev, unsigned fn)
{
    for (unsigned i = 0; i < l->n; i++)
        if (l->bdf[i] == (bus << 8 | dev << 3 | fn))
            return true;
    return false;
}

TEST(enumerate_behind_bridges)
{
    reset();
    make_fn(0, 0, 0, 0x8086, 0x29c0, 0);    /* host bridge */
    make_fn(0, 1, 0, 0x1af4, 0x1049, 0x80); /* multi-function: fn 0 and fn 3 */
    make_fn(0, 1, 3, 0x1af4, 0x1053, 0);
    make_fn(0, 2, 0, 0x1af4, 0x1053, 0); /* single-function: its fn 1 is not looked at */
    make_fn(0, 2, 1, 0x1af4, 0x1053, 0);
    make_bridge(0, 3, 1);
    make_bridge(0, 4, 0);                /* back to its own bus: ignored */
    make_bridge(0, 5, 1);                /* bus 1 again: walked once */
    make_fn(0, 6, 0, 0x1234, 0x1111, 2); /* CardBus header: neither device nor bridge */
    make_bridge(1, 0, 2);
    make_fn(1, 1, 0, 0x1af4, 0x1042, 0);
    make_bridge(1, 2, 1); /* a loop to bus 1 */
    make_fn(2, 0, 0, 0x1af4, 0x1041, 0);
    make_fn(3, 0, 0, 0x1af4, 0x1041, 0); /* no bridge leads here */

    struct found_list l = {0};
    CHECK_EQ(pci_enumerate(&ops, 0, 255, collect, &l), 3);
    CHECK_EQ(l.n, 6);
    CHECK(has(&l, 0, 0, 0) && has(&l, 0, 1, 0) && has(&l, 0, 1, 3) && has(&l, 0, 2, 0));
    CHECK(has(&l, 1, 1, 0) && has(&l, 2, 0, 0));
    CHECK(!has(&l, 0, 2, 1) && !has(&l, 3, 0, 0));

    /* Only buses the access method reaches (an MCFG window of buses 0-1). */
    memset(&l, 0, sizeof(l));
    CHECK_EQ(pci_enumerate(&ops, 0, 1, collect, &l), 2);
    CHECK_EQ(l.n, 5);
    CHECK(!has(&l, 2, 0, 0));
    CHECK_EQ(pci_enumerate(&ops, 2, 1, collect, &l), 0); /* an empty range */
    CHECK_EQ(pci_enumerate(&ops, 0, 256, collect, &l), 0);
}

TEST(enumerate_keeps_at_most_the_limit)
{
    reset();
    for (unsigned d = 0; d < 32; d++)
        for (unsigned f = 0; f < 8; f++)
            make_fn(0, d, f, 0x1af4, 0x1041, f == 0 ? 0x80 : 0);
    struct found_list l = {0};
    CHECK_EQ(pci_enumerate(&ops, 0, 0, collect, &l), 1);
    CHECK_EQ(l.n, PCI_MAX_FUNCTIONS);
}

/* ---- BARs */

TEST(bar_sizing)
{
    reset();
    struct fake_fn *f = make_fn(0, 1, 0, 0x1af4, 0x1041, 0);
    struct pci_device p;
    struct pci_bar b;
    put16(f, PCI_COMMAND, PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER);
    bar32(f, 0, 0xfe000000u, 0x1000);
    put32(f, PCI_BAR0 + 4, 0xc001); /* an I/O BAR */
    bar64(f, 2, 0x800000000ull, 0x4000);
    bar32(f, 4, 0, 0); /* unimplemented */
    put32(f, PCI_BAR0 + 20, 0xfd000000u);
    f->bar_writable[5] = 0xff0ff000u; /* not a power of two */
    pci_device_init(&p, &ops, 1 << 3);
    CHECK_EQ(p.vendor, 0x1af4);
    CHECK_EQ(p.device, 0x1041);
    CHECK_STR(p.name, "pci 00:01.0");

    CHECK_EQ(pci_bar_get(&p, 0, &b), 0);
    CHECK_EQ(b.base, 0xfe000000u);
    CHECK_EQ(b.size, 0x1000);
    CHECK_EQ(pci_bar_get(&p, 1, &b), -ENOENT);
    CHECK_EQ(pci_bar_get(&p, 2, &b), 0);
    CHECK_EQ(b.base, 0x800000000ull);
    CHECK_EQ(b.size, 0x4000);
    CHECK_EQ(pci_bar_get(&p, 3, &b), -ENOENT); /* the upper half of BAR 2 */
    CHECK_EQ(pci_bar_get(&p, 4, &b), -EINVAL);
    CHECK_EQ(pci_bar_get(&p, 5, &b), -EINVAL);
    CHECK_EQ(pci_bar_get(&p, 6, &b), -ENOENT);
    CHECK_EQ(pci_bar_get(&p, 0, &b), 0); /* sized once, remembered */

    /* Sizing restored every BAR and the command register, and wrote the
     * probe with memory decoding off. */
    CHECK_EQ(bar_writes_decoding, 0);
    CHECK_EQ(get32(f, PCI_BAR0), 0xfe000000u);
    CHECK_EQ(get32(f, PCI_BAR0 + 8), 4);
    CHECK_EQ(get32(f, PCI_BAR0 + 12), 8);
    CHECK_EQ(get32(f, PCI_BAR0 + 20), 0xfd000000u);
    CHECK_EQ(pci_read16(&p, PCI_COMMAND), PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER);
}

TEST(bar_hostile)
{
    reset();
    struct fake_fn *f = make_fn(0, 2, 0, 0x1af4, 0x1041, 0);
    struct pci_device p;
    struct pci_bar b;
    bar32(f, 0, 0xfe000800u, 0x1000); /* base not aligned to the size it claims */
    f->bar_probe[0] = 0xfffff000u;
    bar32(f, 1, 0, 0x1000);          /* not assigned */
    bar64(f, 2, 1ull << 47, 0x1000); /* beyond what can be mapped */
    bar32(f, 4, 0, 0);               /* unimplemented (reads 0): size 0 */
    put32(f, PCI_BAR0 + 20, 4);      /* 64-bit, but in the last slot */
    f->bar_writable[5] = 0xfffff000u;
    pci_device_init(&p, &ops, 2 << 3);
    CHECK_EQ(pci_bar_get(&p, 0, &b), -EINVAL);
    CHECK_EQ(pci_bar_get(&p, 1, &b), -EINVAL);
    CHECK_EQ(pci_bar_get(&p, 2, &b), -EINVAL);
    CHECK_EQ(pci_bar_get(&p, 3, &b), -ENOENT);
    CHECK_EQ(pci_bar_get(&p, 4, &b), -EINVAL);
    CHECK_EQ(pci_bar_get(&p, 5, &b), -EINVAL);

    f = make_fn(0, 3, 0, 0x1af4, 0x1041, 0);
    bar64(f, 0, 0x100000000ull, 0);      /* 64 bits, all read-only: size 2^64 */
    bar32(f, 2, 0xfe000000u, 0x1000);    /* fine */
    bar64(f, 3, 1ull << 46, 1ull << 46); /* ends exactly at the limit: fine */
    put32(f, PCI_BAR0 + 20, 6);          /* a reserved type */
    f->bar_writable[5] = 0xfffff000u;
    pci_device_init(&p, &ops, 3 << 3);
    CHECK_EQ(pci_bar_get(&p, 0, &b), -EINVAL);
    CHECK_EQ(pci_bar_get(&p, 1, &b), -ENOENT);
    CHECK_EQ(pci_bar_get(&p, 2, &b), 0);
    CHECK_EQ(pci_bar_get(&p, 3, &b), 0);
    CHECK_EQ(b.size, 1ull << 46);
    CHECK_EQ(pci_bar_get(&p, 4, &b), -ENOENT);
    CHECK_EQ(pci_bar_get(&p, 5, &b), -EINVAL);
    bar64(f, 3, (1ull << 47) - (1ull << 45), 1ull << 46); /* claims 2^46: misaligned, */
    f->bar_probe[4] = 0xffffc000u;                        /* and past the limit */
    pci_device_init(&p, &ops, 3 << 3);
    CHECK_EQ(pci_bar_get(&p, 3, &b), -EINVAL);

    /* A bridge's BARs are not handed out. */
    f = make_bridge(0, 4, 1);
    bar32(f, 0, 0xfe000000u, 0x1000);
    pci_device_init(&p, &ops, 4 << 3);
    CHECK_EQ(pci_bar_get(&p, 0, &b), -ENOENT);
}

/* ---- capabilities */

static void cap(struct fake_fn *f, unsigned at, uint8_t id, unsigned next)
{
    f->cfg[at] = id;
    f->cfg[at + 1] = (uint8_t)next;
}

static void caps_start(struct fake_fn *f, unsigned first)
{
    put16(f, PCI_STATUS, PCI_STATUS_CAPS);
    f->cfg[PCI_CAPABILITIES] = (uint8_t)first;
}

TEST(capability_walk)
{
    reset();
    struct fake_fn *f = make_fn(0, 1, 0, 0x1af4, 0x1041, 0);
    struct pci_device p;
    caps_start(f, 0x40);
    cap(f, 0x40, PCI_CAP_ID_VENDOR, 0x50);
    cap(f, 0x50, PCI_CAP_ID_MSIX, 0x62);   /* low bits of a pointer are ignored */
    cap(f, 0x60, PCI_CAP_ID_VENDOR, 0x40); /* and back: a loop */
    pci_device_init(&p, &ops, 1 << 3);
    CHECK_EQ(pci_capability_next(&p, 0, PCI_CAP_ID_VENDOR), 0x40);
    CHECK_EQ(pci_capability_next(&p, 0x40, PCI_CAP_ID_VENDOR), 0x60);
    CHECK_EQ(pci_capability_next(&p, 0x60, PCI_CAP_ID_VENDOR), 0); /* the loop ends it */
    CHECK_EQ(pci_capability_next(&p, 0, PCI_CAP_ID_MSIX), 0x50);
    CHECK_EQ(pci_capability_next(&p, 0x50, 0), 0x60);
    CHECK_EQ(pci_capability_next(&p, 0, 0x05), 0); /* MSI: not there */

    cap(f, 0x60, PCI_CAP_ID_VENDOR, 0x3c); /* into the header */
    CHECK_EQ(pci_capability_next(&p, 0x60, 0), 0);
    cap(f, 0x60, PCI_CAP_ID_VENDOR, 0x60); /* to itself */
    CHECK_EQ(pci_capability_next(&p, 0x60, 0), 0);
    cap(f, 0x60, PCI_CAP_ID_VENDOR, 0xff); /* the last dword: 0xfc */
    cap(f, 0xfc, PCI_CAP_ID_MSIX, 0);
    CHECK_EQ(pci_capability_next(&p, 0x60, 0), 0xfc);

    f->cfg[PCI_CAPABILITIES] = 0x10; /* the list starts outside */
    CHECK_EQ(pci_capability_next(&p, 0, 0), 0);
    f->cfg[PCI_CAPABILITIES] = 0x40;
    put16(f, PCI_STATUS, 0); /* no list at all */
    CHECK_EQ(pci_capability_next(&p, 0, 0), 0);
}

/* ---- virtio-pci capabilities */

#define VBAR   0xfe800000ull /* BAR 4, 64-bit, 16 KiB, as QEMU lays it out */
#define MBAR   0xfeb00000u   /* BAR 1, 4 KiB: the MSI-X table */
#define LEN4K  0x1000u
#define COMMON 0x88 /* where the common and notify capabilities are */
#define NOTIFY 0x54

static void vcap(struct fake_fn *f, unsigned at, unsigned next, uint8_t type, uint8_t bar,
                 uint32_t offset, uint32_t length, uint8_t cap_len)
{
    cap(f, at, PCI_CAP_ID_VENDOR, next);
    f->cfg[at + 2] = cap_len;
    f->cfg[at + VIRTIO_PCI_CAP_CFG_TYPE] = type;
    f->cfg[at + VIRTIO_PCI_CAP_BAR] = bar;
    put32(f, at + VIRTIO_PCI_CAP_OFFSET, offset);
    put32(f, at + VIRTIO_PCI_CAP_LENGTH, length);
}

/* A modern virtio device as QEMU makes one; returns it for changes. */
static struct fake_fn *virtio_fn(unsigned dev)
{
    struct fake_fn *f = make_fn(0, dev, 0, VIRTIO_PCI_VENDOR, 0x105a, 0);
    bar32(f, 1, MBAR, LEN4K);
    bar64(f, 4, VBAR, 4 * LEN4K);
    caps_start(f, 0x98);
    cap(f, 0x98, PCI_CAP_ID_MSIX, COMMON);
    put16(f, 0x98 + 2, 2);     /* table size 3 */
    put32(f, 0x98 + 4, 1);     /* BAR 1, offset 0 */
    put32(f, 0x98 + 8, 0x801); /* PBA */
    vcap(f, COMMON, 0x78, VIRTIO_PCI_CAP_COMMON_CFG, 4, 0, LEN4K, 16);
    vcap(f, 0x78, 0x68, VIRTIO_PCI_CAP_ISR_CFG, 4, LEN4K, LEN4K, 16);
    vcap(f, 0x68, NOTIFY, VIRTIO_PCI_CAP_DEVICE_CFG, 4, 2 * LEN4K, LEN4K, 16);
    vcap(f, NOTIFY, 0x40, VIRTIO_PCI_CAP_NOTIFY_CFG, 4, 3 * LEN4K, LEN4K, 20);
    put32(f, NOTIFY + VIRTIO_PCI_CAP_NOTIFY_MUL, 4);
    vcap(f, 0x40, 0, 5 /* PCI config access */, 0, 0, 0, 20);
    return f;
}

TEST(virtio_caps_modern)
{
    reset();
    virtio_fn(1);
    struct pci_device p;
    struct virtio_pci_caps c;
    pci_device_init(&p, &ops, 1 << 3);
    CHECK_EQ(virtio_pci_read_caps(&p, &c), 0);
    CHECK(c.common_found && c.notify_found && c.isr_found && c.device_found);
    CHECK_EQ(c.common.addr, VBAR);
    CHECK_EQ(c.common.length, LEN4K);
    CHECK_EQ(c.isr.addr, VBAR + LEN4K);
    CHECK_EQ(c.device.addr, VBAR + 2 * LEN4K);
    CHECK_EQ(c.notify.addr, VBAR + 3 * LEN4K);
    CHECK_EQ(c.notify_multiplier, 4);
    CHECK_EQ(c.msix_entries, 3);
    CHECK_EQ(c.msix_table, MBAR);
    CHECK_EQ(c.msix_cap, 0x98);
    CHECK_EQ(bar_writes_decoding, 0);
}

TEST(virtio_caps_hostile)
{
    struct pci_device p;
    struct virtio_pci_caps c;

    /* A notify window past the end of its BAR: no notify, so refused. */
    reset();
    struct fake_fn *f = virtio_fn(1);
    put32(f, NOTIFY + VIRTIO_PCI_CAP_LENGTH, LEN4K + 1);
    pci_device_init(&p, &ops, 1 << 3);
    CHECK_EQ(virtio_pci_read_caps(&p, &c), -ENODEV);
    CHECK(c.common_found && !c.notify_found);

    /* An offset that wraps 32 bits. */
    put32(f, NOTIFY + VIRTIO_PCI_CAP_LENGTH, 2);
    put32(f, NOTIFY + VIRTIO_PCI_CAP_OFFSET, 0xffffffffu);
    pci_device_init(&p, &ops, 1 << 3);
    CHECK_EQ(virtio_pci_read_caps(&p, &c), -ENODEV);

    /* A notify multiplier that is not a power of two; then one of 0 (all
     * queues share one address) is fine. */
    put32(f, NOTIFY + VIRTIO_PCI_CAP_OFFSET, 3 * LEN4K);
    put32(f, NOTIFY + VIRTIO_PCI_CAP_NOTIFY_MUL, 3);
    pci_device_init(&p, &ops, 1 << 3);
    CHECK_EQ(virtio_pci_read_caps(&p, &c), -ENODEV);
    put32(f, NOTIFY + VIRTIO_PCI_CAP_NOTIFY_MUL, 0);
    pci_device_init(&p, &ops, 1 << 3);
    CHECK_EQ(virtio_pci_read_caps(&p, &c), 0);

    /* The common structure too short, in a missing BAR, a BAR of size 0,
     * or with a capability length too short for its structure. */
    f->cfg[COMMON + 2] = 15;
    pci_device_init(&p, &ops, 1 << 3);
    CHECK_EQ(virtio_pci_read_caps(&p, &c), -ENODEV);
    CHECK(!c.common_found && c.notify_found);
    f->cfg[COMMON + 2] = 16;
    put32(f, COMMON + VIRTIO_PCI_CAP_LENGTH, VIRTIO_PCI_COMMON_LEN - 1);
    pci_device_init(&p, &ops, 1 << 3);
    CHECK_EQ(virtio_pci_read_caps(&p, &c), -ENODEV);
    put32(f, COMMON + VIRTIO_PCI_CAP_LENGTH, LEN4K);
    f->cfg[COMMON + VIRTIO_PCI_CAP_BAR] = 7;
    pci_device_init(&p, &ops, 1 << 3);
    CHECK_EQ(virtio_pci_read_caps(&p, &c), -ENODEV);
    f->cfg[COMMON + VIRTIO_PCI_CAP_BAR] = 0; /* BAR 0: unimplemented, size 0 */
    pci_device_init(&p, &ops, 1 << 3);
    CHECK_EQ(virtio_pci_read_caps(&p, &c), -ENODEV);
    f->cfg[COMMON + VIRTIO_PCI_CAP_BAR] = 4;

    /* A capability at the last dword cannot hold a virtio_pci_cap. */
    cap(f, 0x40, PCI_CAP_ID_VENDOR, 0xfc);
    cap(f, 0xfc, PCI_CAP_ID_VENDOR, 0);
    f->cfg[0xfe] = 16;
    f->cfg[0xff] = VIRTIO_PCI_CAP_COMMON_CFG;
    f->cfg[COMMON] = 0x11; /* the good common capability is MSI-X's id now */
    pci_device_init(&p, &ops, 1 << 3);
    CHECK_EQ(virtio_pci_read_caps(&p, &c), -ENODEV);
    CHECK(!c.common_found);

    /* The list loops: the walk ends, what it found is used. */
    f->cfg[COMMON] = PCI_CAP_ID_VENDOR;
    cap(f, 0x40, 5, 0x98);
    pci_device_init(&p, &ops, 1 << 3);
    CHECK_EQ(virtio_pci_read_caps(&p, &c), 0);

    /* An MSI-X table past its BAR: no MSI-X (INTx instead). */
    put16(f, 0x98 + 2, 0x7ff); /* 2048 entries of 16 bytes: 32 KiB in 4 KiB */
    pci_device_init(&p, &ops, 1 << 3);
    CHECK_EQ(virtio_pci_read_caps(&p, &c), 0);
    CHECK_EQ(c.msix_entries, 0);

    /* A legacy-only device: no capabilities at all. */
    f = make_fn(0, 2, 0, VIRTIO_PCI_VENDOR, 0x1000, 0);
    put32(f, PCI_BAR0, 0xc041); /* its I/O BAR */
    pci_device_init(&p, &ops, 2 << 3);
    CHECK_EQ(virtio_pci_read_caps(&p, &c), -ENODEV);
    CHECK(!c.common_found && !c.notify_found);
}

/* ---- drivers */

static int test_probe(struct pci_device *p)
{
    (void)p;
    return 0;
}
static const struct pci_driver test_driver = {
    .name = "test", .vendor = 0x1234, .device_min = 0x10, .device_max = 0x1f, .probe = test_probe};
MIURA_DRIVER(pci, test_driver);

TEST(driver_match)
{
    reset();
    struct pci_device p;
    make_fn(0, 1, 0, 0x1234, 0x10, 0);
    make_fn(0, 2, 0, 0x1234, 0x20, 0);
    make_fn(0, 3, 0, 0x1234, 0x1f, 0);
    make_fn(0, 4, 0, 0x4321, 0x10, 0);
    pci_device_init(&p, &ops, 1 << 3);
    CHECK(pci_driver_for(&p) == &test_driver);
    pci_device_init(&p, &ops, 2 << 3);
    CHECK(pci_driver_for(&p) == NULL);
    pci_device_init(&p, &ops, 3 << 3);
    CHECK(pci_driver_for(&p) == &test_driver);
    pci_device_init(&p, &ops, 4 << 3);
    CHECK(pci_driver_for(&p) == NULL);
}
