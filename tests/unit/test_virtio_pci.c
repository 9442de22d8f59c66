/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The virtio-pci transport end to end on the host: a fake function (its
 * config space as in test_pci.c, its BARs host memory whose common
 * configuration registers are emulated here) is probed by the transport, the
 * virtio core negotiates, and a test driver sets up a queue, its interrupt
 * and DRIVER_OK. Checked: the registers the transport programs (queue size,
 * ring addresses, MSI-X vectors and table entries), notifies landing at
 * notify_off x multiplier, MSI-X and INTx interrupts reaching the driver, and
 * refusals that leave nothing behind: a queue whose notify offset is past
 * the notify window, a device that will not map a queue's vector, a
 * legacy-only device; and each MSI-X entry sent to the CPU the command line
 * chose for the device (irq_cpu.NAME) or its queue (irq_cpu.NAME.INDEX).
 */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "abi/virtio.h"
#include "arch/x86_64/acpi/acpi.h"
#include "arch/x86_64/arch.h"
#include "drivers/pci/pci.h"
#include "drivers/virtio/pci/virtio_pci.h"
#include "drivers/virtio/virtio.h"
#include "lib/cmdline.h"
#include "miura/miura.h"
#include "test.h"

#define BAR_LEN   0x4000u /* BAR 4: common, ISR, device config, notify: 4 KiB each */
#define MSIX_LEN  0x1000u /* BAR 1 (64-bit): the MSI-X table */
#define NOTIFY    0x3000u
#define NOTIFYMUL 4u
#define INTX_LINE 11
#define QMAX      256

/* ---- the function: config space and emulated registers */

static uint8_t cfg[PCI_CFG_SPACE];
static uint32_t bar_writable[PCI_BARS];
static uint8_t *bar4, *bar1; /* host memory standing for the BARs */

static struct {
    uint64_t features, driver_features;
    uint32_t dfsel, gfsel;
    uint16_t config_vector, qsel;
    uint8_t status;
    struct {
        uint16_t size, vector, enable, notify_off;
        uint64_t desc, avail, used;
    } q[2];
    bool refuse_vectors;
    uint8_t isr;
    unsigned notifies;
    uint16_t last_notify;
    uintptr_t last_notify_addr;
} dev;

static uint32_t cfg_read(void *ctx, uint16_t bdf, unsigned off, unsigned width)
{
    (void)ctx;
    if (bdf != (1 << 3))
        return 0xffffffffu >> (32 - 8 * width);
    uint32_t v = 0;
    memcpy(&v, cfg + off, width);
    return v;
}

static void cfg_write(void *ctx, uint16_t bdf, unsigned off, unsigned width, uint32_t v)
{
    (void)ctx;
    if (bdf != (1 << 3))
        return;
    if (off >= PCI_BAR0 && off < PCI_BAR0 + 4 * PCI_BARS) {
        uint32_t keep = bar_writable[(off - PCI_BAR0) / 4], old;
        memcpy(&old, cfg + off, 4);
        v = (v & keep) | (old & ~keep);
    }
    memcpy(cfg + off, &v, width);
}

static const struct pci_config_ops ops = {.read = cfg_read, .write = cfg_write};

static void put16(unsigned off, uint16_t v)
{
    memcpy(cfg + off, &v, 2);
}
static void put32(unsigned off, uint32_t v)
{
    memcpy(cfg + off, &v, 4);
}

static void vcap(unsigned at, unsigned next, uint8_t type, uint32_t offset, uint8_t len)
{
    cfg[at] = PCI_CAP_ID_VENDOR;
    cfg[at + 1] = (uint8_t)next;
    cfg[at + 2] = len;
    cfg[at + VIRTIO_PCI_CAP_CFG_TYPE] = type;
    cfg[at + VIRTIO_PCI_CAP_BAR] = 4;
    put32(at + VIRTIO_PCI_CAP_OFFSET, offset);
    put32(at + VIRTIO_PCI_CAP_LENGTH, 0x1000);
}

/* A modern virtio-fs function; msix: with an MSI-X table of 3 entries. */
static void make_function(uint16_t device, bool msix)
{
    if (!bar4) { /* host memory, aligned to its size as a BAR is */
        bar4 = aligned_alloc(BAR_LEN, BAR_LEN);
        bar1 = aligned_alloc(MSIX_LEN, MSIX_LEN);
    }
    memset(cfg, 0, sizeof(cfg));
    memset(&dev, 0, sizeof(dev));
    memset(bar4, 0, BAR_LEN);
    memset(bar1, 0, MSIX_LEN);
    put16(PCI_VENDOR_ID, VIRTIO_PCI_VENDOR);
    put16(PCI_DEVICE_ID, device);
    put32(PCI_BAR0 + 4, (uint32_t)(uintptr_t)bar1 | 4); /* 64-bit: host addresses */
    put32(PCI_BAR0 + 8, (uint32_t)((uintptr_t)bar1 >> 32));
    bar_writable[1] = ~(MSIX_LEN - 1);
    bar_writable[2] = 0xffffffffu;
    put32(PCI_BAR0 + 16, (uint32_t)(uintptr_t)bar4 | 4);
    put32(PCI_BAR0 + 20, (uint32_t)((uintptr_t)bar4 >> 32));
    bar_writable[4] = ~(BAR_LEN - 1) & ~0xfu;
    bar_writable[5] = 0xffffffffu;
    cfg[PCI_INTERRUPT_PIN] = 1;
    cfg[PCI_INTERRUPT_LINE] = INTX_LINE;
    put16(PCI_STATUS, PCI_STATUS_CAPS);
    cfg[PCI_CAPABILITIES] = msix ? 0x98 : 0x88;
    cfg[0x98] = PCI_CAP_ID_MSIX;
    cfg[0x99] = 0x88;
    put16(0x98 + 2, 2); /* 3 entries */
    put32(0x98 + 4, 1); /* BAR 1, offset 0 */
    vcap(0x88, 0x78, VIRTIO_PCI_CAP_COMMON_CFG, 0, 16);
    vcap(0x78, 0x68, VIRTIO_PCI_CAP_ISR_CFG, 0x1000, 16);
    vcap(0x68, 0x54, VIRTIO_PCI_CAP_DEVICE_CFG, 0x2000, 16);
    vcap(0x54, 0, VIRTIO_PCI_CAP_NOTIFY_CFG, NOTIFY, 20);
    put32(0x54 + VIRTIO_PCI_CAP_NOTIFY_MUL, NOTIFYMUL);
    dev.features = 1ull << VIRTIO_F_VERSION_1;
    dev.q[0].notify_off = 0;
    dev.q[1].notify_off = 1;
    memcpy(bar4 + 0x2000, "share", 5); /* virtio-fs config: the tag */
}

static uintptr_t reg(unsigned r)
{
    return (uintptr_t)bar4 + r;
}

static bool in_bar(uintptr_t a, unsigned width)
{
    return (a >= (uintptr_t)bar4 && a + width <= (uintptr_t)bar4 + BAR_LEN) ||
           (a >= (uintptr_t)bar1 && a + width <= (uintptr_t)bar1 + MSIX_LEN);
}

static uint32_t common_read(unsigned r)
{
    unsigned q = dev.qsel < 2 ? dev.qsel : 0;
    switch (r) {
    case VIRTIO_PCI_COMMON_DF:
        return dev.dfsel < 2 ? (uint32_t)(dev.features >> (32 * dev.dfsel)) : 0;
    case VIRTIO_PCI_COMMON_MSIX:
        return dev.config_vector;
    case VIRTIO_PCI_COMMON_NUMQ:
        return 2;
    case VIRTIO_PCI_COMMON_STATUS:
        return dev.status;
    case VIRTIO_PCI_COMMON_CFGGEN:
        return 0;
    case VIRTIO_PCI_COMMON_Q_SIZE:
        return dev.qsel < 2 ? (dev.q[q].size ? dev.q[q].size : QMAX) : 0;
    case VIRTIO_PCI_COMMON_Q_MSIX:
        return dev.q[q].vector;
    case VIRTIO_PCI_COMMON_Q_ENABLE:
        return dev.q[q].enable;
    case VIRTIO_PCI_COMMON_Q_NOFF:
        return dev.q[q].notify_off;
    default:
        return 0;
    }
}

static void common_write(unsigned r, uint32_t v)
{
    unsigned q = dev.qsel < 2 ? dev.qsel : 0;
    switch (r) {
    case VIRTIO_PCI_COMMON_DFSELECT:
        dev.dfsel = v;
        break;
    case VIRTIO_PCI_COMMON_GFSELECT:
        dev.gfsel = v;
        break;
    case VIRTIO_PCI_COMMON_GF:
        if (dev.gfsel == 0)
            dev.driver_features = (dev.driver_features & ~0xffffffffull) | v;
        else if (dev.gfsel == 1)
            dev.driver_features = (dev.driver_features & 0xffffffffull) | (uint64_t)v << 32;
        break;
    case VIRTIO_PCI_COMMON_MSIX:
        dev.config_vector = dev.refuse_vectors ? VIRTIO_MSI_NO_VECTOR : (uint16_t)v;
        break;
    case VIRTIO_PCI_COMMON_STATUS:
        dev.status = (uint8_t)v;
        if (v == 0)
            for (unsigned i = 0; i < 2; i++)
                dev.q[i].enable = 0;
        break;
    case VIRTIO_PCI_COMMON_Q_SELECT:
        dev.qsel = (uint16_t)v;
        break;
    case VIRTIO_PCI_COMMON_Q_SIZE:
        dev.q[q].size = (uint16_t)v;
        break;
    case VIRTIO_PCI_COMMON_Q_MSIX:
        dev.q[q].vector = dev.refuse_vectors ? VIRTIO_MSI_NO_VECTOR : (uint16_t)v;
        break;
    case VIRTIO_PCI_COMMON_Q_ENABLE:
        dev.q[q].enable = (uint16_t)v;
        break;
    case VIRTIO_PCI_COMMON_Q_DESCLO:
    case VIRTIO_PCI_COMMON_Q_DESCHI:
        memcpy((uint8_t *)&dev.q[q].desc + (r - VIRTIO_PCI_COMMON_Q_DESCLO), &v, 4);
        break;
    case VIRTIO_PCI_COMMON_Q_AVAILLO:
    case VIRTIO_PCI_COMMON_Q_AVAILHI:
        memcpy((uint8_t *)&dev.q[q].avail + (r - VIRTIO_PCI_COMMON_Q_AVAILLO), &v, 4);
        break;
    case VIRTIO_PCI_COMMON_Q_USEDLO:
    case VIRTIO_PCI_COMMON_Q_USEDHI:
        memcpy((uint8_t *)&dev.q[q].used + (r - VIRTIO_PCI_COMMON_Q_USEDLO), &v, 4);
        break;
    default:
        break;
    }
}

static uint32_t mmio_read(uintptr_t a, unsigned width)
{
    if (!in_bar(a, width) || (a & (width - 1)))
        abort(); /* outside a BAR, or unaligned: the transport must never */
    if (a >= reg(0) && a < reg(VIRTIO_PCI_COMMON_LEN))
        return common_read((unsigned)(a - reg(0)));
    if (a == reg(0x1000)) { /* ISR: reading acknowledges */
        uint8_t v = dev.isr;
        dev.isr = 0;
        return v;
    }
    uint32_t v = 0;
    memcpy(&v, (void *)a, width);
    return v;
}

static void mmio_write(uintptr_t a, unsigned width, uint32_t v)
{
    if (!in_bar(a, width) || (a & (width - 1)))
        abort();
    if (a >= reg(0) && a < reg(VIRTIO_PCI_COMMON_LEN)) {
        common_write((unsigned)(a - reg(0)), v);
    } else if (a >= reg(NOTIFY) && a < reg(NOTIFY + 0x1000)) {
        dev.notifies++;
        dev.last_notify = (uint16_t)v;
        dev.last_notify_addr = a;
    } else {
        memcpy((void *)a, &v, width);
    }
}

uint32_t mmio_read32(uintptr_t a)
{
    return mmio_read(a, 4);
}
uint16_t mmio_read16(uintptr_t a)
{
    return (uint16_t)mmio_read(a, 2);
}
uint8_t mmio_read8(uintptr_t a)
{
    return (uint8_t)mmio_read(a, 1);
}
void mmio_write32(uintptr_t a, uint32_t v)
{
    mmio_write(a, 4, v);
}
void mmio_write16(uintptr_t a, uint16_t v)
{
    mmio_write(a, 2, v);
}
void mmio_write8(uintptr_t a, uint8_t v)
{
    mmio_write(a, 1, v);
}

/* ---- the kernel around the transport */

static unsigned live_pages, maps;
static struct {
    irq_handler_fn fn;
    void *arg;
} vectors[256], intx;
static unsigned intx_gsi, intx_cpu;
static bool intx_level;

void *page_alloc(size_t n)
{
    live_pages += (unsigned)n;
    return aligned_alloc(PAGE_SIZE, n * PAGE_SIZE);
}

void page_free(void *p, size_t n)
{
    live_pages -= (unsigned)n;
    free(p);
}

int paging_map(uint64_t base, uint64_t len, int kind)
{
    if (kind != PAGING_MMIO || !in_bar((uintptr_t)base, (unsigned)len))
        abort(); /* only registers inside a BAR */
    maps++;
    return 0;
}

/* The command line (irq_cpu.NAME[.QUEUE]=), 4 CPUs whose APIC IDs are
 * 0x10 + index. */
static char *args[4];
static int nargs;

const char *miura_getarg(const char *key)
{
    return cmdline_value(args, nargs, key);
}

unsigned miura_cpu_count(void)
{
    return 4;
}

unsigned miura_cpu_id(void)
{
    return 0;
}

unsigned irq_cpu(void)
{
    return 0;
}

unsigned irq_cpu_apic(unsigned cpu)
{
    return 0x10 + cpu;
}

int irq_msi_alloc(unsigned dest_apic, irq_handler_fn fn, void *arg, struct msi_message *msg)
{
    for (unsigned v = 0x40; v < 256; v++) {
        if (!vectors[v].fn) {
            vectors[v].fn = fn;
            vectors[v].arg = arg;
            msg->address = MSI_ADDRESS_BASE | (uint64_t)dest_apic << 12;
            msg->data = v;
            return (int)v;
        }
    }
    return -EBUSY;
}

void irq_msi_free(unsigned vector)
{
    vectors[vector].fn = NULL;
}

int irq_route(unsigned gsi, bool level, unsigned cpu, irq_handler_fn fn, void *arg)
{
    intx_gsi = gsi;
    intx_cpu = cpu;
    intx_level = level;
    intx.fn = fn;
    intx.arg = arg;
    return 0;
}

void irq_unroute(unsigned gsi)
{
    if (gsi == intx_gsi)
        intx.fn = NULL;
}

unsigned acpi_isa_irq(unsigned irq, bool *level, bool *active_low)
{
    *level = *active_low = false;
    return irq;
}

static unsigned vectors_in_use(void)
{
    unsigned n = 0;
    for (unsigned v = 0; v < 256; v++)
        n += vectors[v].fn != NULL;
    return n;
}

/* ---- a driver for the device (virtio-fs's id) */

static struct virtqueue vq;
static uint32_t causes;
static int probe_rc;
static struct virtio_device *the_dev;

static int test_probe(struct virtio_device *d)
{
    the_dev = d;
    int rc = virtio_queue_create(d, 0, 128, &vq);
    if (rc < 0)
        return probe_rc = rc;
    rc = virtio_irq_enable(d);
    if (rc < 0) {
        virtio_device_reset(d);
        virtio_queue_destroy(&vq);
        return probe_rc = rc;
    }
    virtio_device_ready(d);
    return probe_rc = 0;
}

static void test_interrupt(struct virtio_device *d, uint32_t cause)
{
    (void)d;
    causes |= cause;
}

static const struct virtio_driver test_driver = {
    .name = "virtio-test", .device_id = 26, .probe = test_probe, .interrupt = test_interrupt};
MIURA_DRIVER(virtio, test_driver);

static struct pci_device pdev;

/* Undoes a successful probe as a driver would, and frees the transport's
 * record (in the guest a device that runs is kept for good). */
static void teardown(void)
{
    virtio_irq_disable(the_dev);
    virtio_device_reset(the_dev);
    virtio_queue_destroy(&vq);
    free(the_dev); /* struct virtio_pci begins with its struct virtio_device */
}

static int probe_function(void)
{
    pci_device_init(&pdev, &ops, 1 << 3);
    const struct pci_driver *drv = pci_driver_for(&pdev);
    if (drv != &virtio_pci_driver)
        abort();
    causes = 0;
    probe_rc = 1;
    return drv->probe(&pdev);
}

TEST(modern_with_msix)
{
    make_function(0x105a, true);
    dev.q[0].notify_off = 3;
    CHECK_EQ(probe_function(), 0);
    CHECK_EQ(probe_rc, 0);
    CHECK(dev.status & VIRTIO_STATUS_DRIVER_OK);
    CHECK(dev.driver_features & (1ull << VIRTIO_F_VERSION_1));
    CHECK_EQ(dev.q[0].enable, 1);
    CHECK_EQ(dev.q[0].size, 128);
    CHECK_EQ(dev.q[0].desc, vq_desc_addr(&vq));
    CHECK_EQ(dev.q[0].avail, vq_avail_addr(&vq));
    CHECK_EQ(dev.q[0].used, vq_used_addr(&vq));
    CHECK_EQ(dev.q[1].enable, 0);
    /* MSI-X: enabled, unmasked; entry 0 for config, entry 1 for queue 0. */
    uint16_t control;
    memcpy(&control, cfg + 0x98 + 2, 2);
    CHECK((control & 0x8000) && !(control & 0x4000));
    CHECK_EQ(dev.config_vector, 0);
    CHECK_EQ(dev.q[0].vector, 1);
    uint32_t entry[4];
    memcpy(entry, bar1 + 16, 16);
    CHECK_EQ(entry[0], MSI_ADDRESS_BASE | 0x10 << 12); /* CPU 0 */
    CHECK_EQ(entry[1], 0);
    CHECK(entry[3] == 0); /* unmasked */
    CHECK(vectors[entry[2]].fn != NULL);
    CHECK_EQ(vectors_in_use(), 2);
    /* The queue's vector reaches the driver as a used buffer. */
    vectors[entry[2]].fn(vectors[entry[2]].arg);
    CHECK_EQ(causes, VIRTIO_INT_USED_BUFFER);
    memcpy(entry, bar1, 16);
    vectors[entry[2]].fn(vectors[entry[2]].arg);
    CHECK_EQ(causes, VIRTIO_INT_USED_BUFFER | VIRTIO_INT_CONFIG_CHANGE);
    /* A notify goes to notify_off x multiplier in the notify window, and
     * carries the queue's index; a queue never enabled is not notified. */
    the_dev->ops->notify(the_dev, 0);
    CHECK_EQ(dev.notifies, 1);
    CHECK_EQ(dev.last_notify_addr, reg(NOTIFY + 3 * NOTIFYMUL));
    CHECK_EQ(dev.last_notify, 0);
    the_dev->ops->notify(the_dev, 1);
    CHECK_EQ(dev.notifies, 1);
    CHECK(maps >= 5); /* common, notify, ISR, device config, MSI-X table */
    teardown();
    CHECK_EQ(vectors_in_use(), 0);
    CHECK_EQ(live_pages, 0);
}

/* irq_cpu.test=1 sends the configuration entry to CPU 1, and
 * irq_cpu.test.0=3 queue 0's entry to CPU 3: two CPUs for one device. */
TEST(msix_entries_to_chosen_cpus)
{
    char a0[] = "irq_cpu.test=1", a1[] = "irq_cpu.test.0=3";
    args[0] = a0, args[1] = a1, nargs = 2;
    make_function(0x105a, true);
    CHECK_EQ(probe_function(), 0);
    CHECK_EQ(probe_rc, 0);
    CHECK_EQ(the_dev->irq_cpu, 1);
    CHECK_EQ(vq.irq_cpu, 3);
    uint32_t entry[4];
    memcpy(entry, bar1, 16);
    CHECK_EQ(entry[0], MSI_ADDRESS_BASE | 0x11 << 12);
    memcpy(entry, bar1 + 16, 16);
    CHECK_EQ(entry[0], MSI_ADDRESS_BASE | 0x13 << 12);
    teardown();
    /* Out of range (4 CPUs): the default, CPU 0, for both. */
    char b0[] = "irq_cpu.test=4", b1[] = "irq_cpu.test.0=x";
    args[0] = b0, args[1] = b1;
    make_function(0x105a, true);
    CHECK_EQ(probe_function(), 0);
    CHECK_EQ(the_dev->irq_cpu, 0);
    CHECK_EQ(vq.irq_cpu, 0);
    memcpy(entry, bar1 + 16, 16);
    CHECK_EQ(entry[0], MSI_ADDRESS_BASE | 0x10 << 12);
    teardown();
    nargs = 0;
}

TEST(intx_without_msix)
{
    make_function(0x105a, false);
    intx.fn = NULL;
    CHECK_EQ(probe_function(), 0);
    CHECK_EQ(probe_rc, 0);
    CHECK(intx.fn != NULL);
    CHECK_EQ(intx_gsi, INTX_LINE);
    CHECK(intx_level);
    uint16_t command;
    memcpy(&command, cfg + PCI_COMMAND, 2);
    CHECK(!(command & PCI_COMMAND_INTX_OFF));
    CHECK((command & PCI_COMMAND_MEMORY) && (command & PCI_COMMAND_MASTER));
    dev.isr = VIRTIO_PCI_ISR_QUEUE;
    intx.fn(intx.arg);
    CHECK_EQ(causes, VIRTIO_INT_USED_BUFFER);
    CHECK_EQ(dev.isr, 0); /* read, so acknowledged */
    causes = 0;
    intx.fn(intx.arg); /* a shared line: another device's interrupt */
    CHECK_EQ(causes, 0);
    teardown();
    CHECK(intx.fn == NULL); /* the last device on the line: unrouted */
    CHECK_EQ(live_pages, 0);
}

/* Without MSI-X, one line for the device: irq_cpu.test=2 routes it to
 * CPU 2, and queue 0's own CPU (irq_cpu.test.0=1) cannot be honoured. */
TEST(intx_one_cpu_per_device)
{
    char a0[] = "irq_cpu.test=2", a1[] = "irq_cpu.test.0=1";
    args[0] = a0, args[1] = a1, nargs = 2;
    make_function(0x105a, false);
    CHECK_EQ(probe_function(), 0);
    CHECK_EQ(intx_cpu, 2);
    CHECK_EQ(the_dev->irq_cpu, 2);
    CHECK_EQ(vq.irq_cpu, 2);
    teardown();
    nargs = 0;
}

TEST(notify_offset_past_the_window)
{
    unsigned pages_before = live_pages, vectors_before = vectors_in_use();
    make_function(0x105a, true);
    dev.q[0].notify_off = 0x1000 / NOTIFYMUL; /* exactly past its end */
    CHECK(probe_function() < 0);
    CHECK(probe_rc < 0);
    CHECK(dev.status & VIRTIO_STATUS_FAILED);
    CHECK(!(dev.status & VIRTIO_STATUS_DRIVER_OK));
    CHECK_EQ(live_pages, pages_before);
    CHECK_EQ(vectors_in_use(), vectors_before);
    CHECK_EQ(dev.notifies, 0);
    make_function(0x105a, true);
    dev.q[0].notify_off = 0x1000 / NOTIFYMUL - 1; /* the last 2 bytes: fine */
    CHECK_EQ(probe_function(), 0);
    teardown();
}

TEST(vectors_refused)
{
    unsigned pages_before = live_pages, vectors_before = vectors_in_use();
    make_function(0x105a, true);
    dev.refuse_vectors = true; /* queue_msix_vector reads back NO_VECTOR */
    CHECK(probe_function() < 0);
    CHECK(dev.status & VIRTIO_STATUS_FAILED);
    CHECK_EQ(live_pages, pages_before);
    CHECK_EQ(vectors_in_use(), vectors_before);
}

TEST(legacy_only_refused)
{
    unsigned pages_before = live_pages;
    make_function(0x1009, true);
    put16(PCI_STATUS, 0); /* no capabilities: a legacy-only device */
    put16(PCI_SUBSYSTEM_ID, 26);
    CHECK_EQ(probe_function(), -ENODEV);
    CHECK_EQ(probe_rc, 1); /* the driver never saw it */
    CHECK_EQ(dev.status, 0);
    CHECK_EQ(live_pages, pages_before);
}
