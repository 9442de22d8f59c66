/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The virtio-pci transport (virtio_pci.h): struct virtio_transport_ops over
 * the modern capability windows, and the PCI driver that finds devices.
 *
 * Every window and the MSI-X table are mapped uncached (paging_map) before
 * use; each register is accessed with its own width (§4.1.3.1). The
 * queue's notify address is checked against the notify window when the
 * queue is enabled, so a notify offset past it refuses the queue instead of
 * writing elsewhere.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "abi/virtio.h"
#include "arch/x86_64/acpi/acpi.h"
#include "arch/x86_64/arch.h"
#include "drivers/virtio/pci/virtio_pci.h"
#include "drivers/virtio/virtio.h"
#include "lib/list.h"

#define MAX_QUEUES     8 /* queue indexes a driver may set up */
#define MAX_VECTORS    (1 + MAX_QUEUES)
#define RESET_POLLS    1000 /* reads of device_status after a reset (§4.1.4.3.2) */
#define CONFIG_TRIES   100  /* generation changes tolerated while reading config */
#define MSIX_CONTROL   2
#define MSIX_ENABLE    (1u << 15)
#define MSIX_FUNC_MASK (1u << 14)
#define MSIX_ENTRY     16u
#define MSIX_MASKED    1u

struct virtio_pci;
struct vpci_vector {
    struct virtio_pci *vp;
    uint32_t cause; /* VIRTIO_INT_* this entry signals */
    int vector;     /* local APIC vector, 0: none */
};

struct virtio_pci {
    struct virtio_device dev;
    struct pci_device *pci;
    struct virtio_pci_caps caps;
    uintptr_t common, isr, device_cfg;
    uintptr_t notify[MAX_QUEUES];      /* checked notify address of each enabled queue */
    struct virtqueue *vqs[MAX_QUEUES]; /* each enabled queue: its irq_cpu */
    unsigned nqueues;                  /* highest enabled queue index + 1 */
    bool msix;                         /* MSI-X enabled (else INTx) */
    unsigned nvectors;                 /* MSI-X entries in use */
    struct vpci_vector vectors[MAX_VECTORS];
    unsigned gsi;              /* INTx: the IOAPIC pin */
    struct virtio_pci *shares; /* INTx: the next device on the same pin */
};

static struct virtio_pci *vp_of(struct virtio_device *dev)
{
    return container_of(dev, struct virtio_pci, dev);
}

static uintptr_t common(struct virtio_device *dev, unsigned reg)
{
    return vp_of(dev)->common + reg;
}

static uint8_t vpci_get_status(struct virtio_device *dev)
{
    return mmio_read8(common(dev, VIRTIO_PCI_COMMON_STATUS));
}

static void vpci_set_status(struct virtio_device *dev, uint8_t status)
{
    mmio_write8(common(dev, VIRTIO_PCI_COMMON_STATUS), status);
    /* §4.1.4.3.2: after a reset, wait for device_status to read 0. QEMU and
     * Cloud Hypervisor reset at once; a device that never does fails the
     * FEATURES_OK check that follows. */
    for (int i = 0; status == 0 && i < RESET_POLLS && vpci_get_status(dev) != 0; i++)
        cpu_relax();
}

static uint64_t vpci_device_features(struct virtio_device *dev)
{
    mmio_write32(common(dev, VIRTIO_PCI_COMMON_DFSELECT), 0);
    uint64_t lo = mmio_read32(common(dev, VIRTIO_PCI_COMMON_DF));
    mmio_write32(common(dev, VIRTIO_PCI_COMMON_DFSELECT), 1);
    uint64_t hi = mmio_read32(common(dev, VIRTIO_PCI_COMMON_DF));
    return lo | hi << 32;
}

static void vpci_driver_features(struct virtio_device *dev, uint64_t features)
{
    mmio_write32(common(dev, VIRTIO_PCI_COMMON_GFSELECT), 0);
    mmio_write32(common(dev, VIRTIO_PCI_COMMON_GF), (uint32_t)features);
    mmio_write32(common(dev, VIRTIO_PCI_COMMON_GFSELECT), 1);
    mmio_write32(common(dev, VIRTIO_PCI_COMMON_GF), (uint32_t)(features >> 32));
}

/* Copies with the widest aligned accesses the range allows (§4.1.3.1). */
static void copy_config(uintptr_t src, uint8_t *dst, unsigned len)
{
    for (unsigned i = 0; i < len;) {
        uintptr_t a = src + i;
        if (!(a & 3) && len - i >= 4) {
            uint32_t v = mmio_read32(a);
            memcpy(dst + i, &v, 4);
            i += 4;
        } else if (!(a & 1) && len - i >= 2) {
            uint16_t v = mmio_read16(a);
            memcpy(dst + i, &v, 2);
            i += 2;
        } else {
            dst[i++] = mmio_read8(a);
        }
    }
}

static int vpci_read_config(struct virtio_device *dev, unsigned offset, void *buf, unsigned len)
{
    struct virtio_pci *vp = vp_of(dev);
    uint32_t size = vp->caps.device_found ? vp->caps.device.length : 0;
    if (offset > size || len > size - offset)
        return -EINVAL;
    /* §4.1.4.3.1: retry while config_generation changes under us. */
    for (int tries = 0; tries < CONFIG_TRIES; tries++) {
        uint8_t gen = mmio_read8(common(dev, VIRTIO_PCI_COMMON_CFGGEN));
        copy_config(vp->device_cfg + offset, buf, len);
        if (mmio_read8(common(dev, VIRTIO_PCI_COMMON_CFGGEN)) == gen)
            return 0;
    }
    return -EIO;
}

static uint16_t vpci_queue_max(struct virtio_device *dev, unsigned index)
{
    if (index >= MAX_QUEUES || index >= mmio_read16(common(dev, VIRTIO_PCI_COMMON_NUMQ)))
        return 0;
    mmio_write16(common(dev, VIRTIO_PCI_COMMON_Q_SELECT), (uint16_t)index);
    if (mmio_read16(common(dev, VIRTIO_PCI_COMMON_Q_ENABLE)))
        return 0; /* already in use */
    uint16_t max = mmio_read16(common(dev, VIRTIO_PCI_COMMON_Q_SIZE));
    return max > VIRTQ_MAX_SIZE ? VIRTQ_MAX_SIZE : max;
}

/* The MSI-X entry of queue `index`: 1.. as far as the table goes, shared
 * round-robin beyond it; entry 0 (configuration) when it is the only one. */
static unsigned queue_entry(const struct virtio_pci *vp, unsigned index)
{
    unsigned n = vp->caps.msix_entries;
    return n > 1 ? 1 + index % (n - 1) : 0;
}

static void write64(struct virtio_device *dev, unsigned reg, uint64_t v)
{
    mmio_write32(common(dev, reg), (uint32_t)v);
    mmio_write32(common(dev, reg + 4), (uint32_t)(v >> 32));
}

/* §4.1.5.1.3: size, vector, ring addresses, then queue_enable. */
static int vpci_queue_enable(struct virtio_device *dev, unsigned index, struct virtqueue *vq)
{
    struct virtio_pci *vp = vp_of(dev);
    if (index >= MAX_QUEUES)
        return -EIO;
    mmio_write16(common(dev, VIRTIO_PCI_COMMON_Q_SELECT), (uint16_t)index);
    mmio_write16(common(dev, VIRTIO_PCI_COMMON_Q_SIZE), vq->size);
    if (vp->msix) {
        uint16_t entry = (uint16_t)queue_entry(vp, index);
        mmio_write16(common(dev, VIRTIO_PCI_COMMON_Q_MSIX), entry);
        if (mmio_read16(common(dev, VIRTIO_PCI_COMMON_Q_MSIX)) != entry)
            return -EIO; /* the device could not map it */
    }
    /* The notify address: checked against the notify window. */
    uint64_t off =
        (uint64_t)mmio_read16(common(dev, VIRTIO_PCI_COMMON_Q_NOFF)) * vp->caps.notify_multiplier;
    if (off + 2 > vp->caps.notify.length) {
        printf("%s: queue %u's notify offset %#llx is past its window\n", dev->name, index,
               (unsigned long long)off);
        return -EIO;
    }
    vp->notify[index] = (uintptr_t)(vp->caps.notify.addr + off);
    write64(dev, VIRTIO_PCI_COMMON_Q_DESCLO, vq_desc_addr(vq));
    write64(dev, VIRTIO_PCI_COMMON_Q_AVAILLO, vq_avail_addr(vq));
    write64(dev, VIRTIO_PCI_COMMON_Q_USEDLO, vq_used_addr(vq));
    mmio_write16(common(dev, VIRTIO_PCI_COMMON_Q_ENABLE), 1);
    if (mmio_read16(common(dev, VIRTIO_PCI_COMMON_Q_ENABLE)) != 1)
        return -EIO;
    if (index >= vp->nqueues)
        vp->nqueues = index + 1;
    vp->vqs[index] = vq;
    return 0;
}

static void vpci_notify(struct virtio_device *dev, unsigned index)
{
    struct virtio_pci *vp = vp_of(dev);
    if (index < MAX_QUEUES && vp->notify[index])
        mmio_write16(vp->notify[index], (uint16_t)index);
}

/* ---- MSI-X: one vector per table entry in use */

static uintptr_t msix_entry(const struct virtio_pci *vp, unsigned e)
{
    return (uintptr_t)vp->caps.msix_table + e * MSIX_ENTRY;
}

static void msix_interrupt(void *arg)
{
    struct vpci_vector *v = arg;
    virtio_device_event(&v->vp->dev, v->cause);
}

static void msix_release(struct virtio_pci *vp)
{
    uint16_t control = pci_read16(vp->pci, vp->caps.msix_cap + MSIX_CONTROL);
    pci_write16(vp->pci, vp->caps.msix_cap + MSIX_CONTROL, control | MSIX_FUNC_MASK);
    mmio_write16(common(&vp->dev, VIRTIO_PCI_COMMON_MSIX), VIRTIO_MSI_NO_VECTOR);
    for (unsigned e = 0; e < vp->nvectors; e++) {
        mmio_write32(msix_entry(vp, e) + 12, MSIX_MASKED);
        if (vp->vectors[e].vector)
            irq_msi_free((unsigned)vp->vectors[e].vector);
        vp->vectors[e].vector = 0;
    }
    vp->nvectors = 0;
}

/* The CPU MSI-X entry e interrupts: configuration changes (entry 0) go
 * to the device's CPU, a queue's entry to its queue's (said when that is
 * not the device's); a queue sharing an entry (a short table) goes where
 * the entry's first user goes, and says so. */
static unsigned entry_cpu(struct virtio_pci *vp, unsigned e)
{
    const char *driver = vp->dev.driver->name;
    unsigned cpu = vp->dev.irq_cpu;
    bool taken = e == 0;
    for (unsigned q = 0; q < vp->nqueues; q++) {
        struct virtqueue *vq = vp->vqs[q];
        if (!vq || queue_entry(vp, q) != e)
            continue;
        if (!taken) {
            cpu = vq->irq_cpu;
            if (cpu != vp->dev.irq_cpu)
                printf("%s: queue %u's interrupts to CPU %u\n", driver, q, cpu);
        } else if (vq->irq_cpu != cpu) {
            printf("%s: queue %u shares MSI-X entry %u: its interrupts to CPU %u, not %u\n", driver,
                   q, e, cpu, vq->irq_cpu);
        }
        vq->irq_cpu = (uint8_t)cpu;
        taken = true;
    }
    return cpu;
}

static int msix_enable(struct virtio_pci *vp)
{
    unsigned n = vp->caps.msix_entries, want = 1 + vp->nqueues;
    vp->nvectors = want < n ? want : n;
    for (unsigned e = 0; e < vp->nvectors; e++) {
        struct vpci_vector *v = &vp->vectors[e];
        struct msi_message msg;
        v->vp = vp;
        v->cause = e == 0 ? VIRTIO_INT_CONFIG_CHANGE : VIRTIO_INT_USED_BUFFER;
        if (vp->nvectors == 1)
            v->cause |= VIRTIO_INT_USED_BUFFER; /* every queue shares entry 0 */
        int vector = irq_msi_alloc(irq_cpu_apic(entry_cpu(vp, e)), msix_interrupt, v, &msg);
        if (vector < 0) {
            msix_release(vp);
            return vector;
        }
        v->vector = vector;
        uintptr_t entry = msix_entry(vp, e);
        mmio_write32(entry, (uint32_t)msg.address);
        mmio_write32(entry + 4, (uint32_t)(msg.address >> 32));
        mmio_write32(entry + 8, msg.data);
        mmio_write32(entry + 12, 0); /* unmasked */
    }
    mmio_write16(common(&vp->dev, VIRTIO_PCI_COMMON_MSIX), 0);
    if (mmio_read16(common(&vp->dev, VIRTIO_PCI_COMMON_MSIX)) != 0)
        printf("%s: no vector for configuration changes\n", vp->dev.name);
    uint16_t control = pci_read16(vp->pci, vp->caps.msix_cap + MSIX_CONTROL);
    pci_write16(vp->pci, vp->caps.msix_cap + MSIX_CONTROL, control & ~MSIX_FUNC_MASK);
    return 0;
}

/* ---- INTx: level-triggered, shared by every device on the same pin */

static struct virtio_pci *intx_devices[IRQ_MAX_GSI];

static void intx_interrupt(void *arg)
{
    for (struct virtio_pci *vp = intx_devices[(uintptr_t)arg]; vp; vp = vp->shares)
        virtio_device_interrupt(&vp->dev); /* reading the ISR acknowledges */
}

static int intx_enable(struct virtio_pci *vp)
{
    uint8_t pin = pci_read8(vp->pci, PCI_INTERRUPT_PIN),
            line = pci_read8(vp->pci, PCI_INTERRUPT_LINE);
    bool level, active_low;
    if (pin == 0 || pin > 4 || line >= IRQ_MAX_GSI || !vp->caps.isr_found) {
        printf("%s: no MSI-X and no usable INTx (pin %u, line %u)\n", vp->dev.name, pin, line);
        return -ENODEV;
    }
    /* The firmware wrote the ISA IRQ it routed the pin to; ACPI may
     * override where that arrives. PCI interrupts are level-triggered. */
    vp->gsi = line < 16 ? acpi_isa_irq(line, &level, &active_low) : line;
    if (vp->gsi >= IRQ_MAX_GSI)
        return -ENODEV;
    struct virtio_pci *first = intx_devices[vp->gsi];
    unsigned own = vp->dev.irq_cpu; /* the command line's for the device */
    if (!first) {
        int rc =
            irq_route(vp->gsi, true, vp->dev.irq_cpu, intx_interrupt, (void *)(uintptr_t)vp->gsi);
        if (rc < 0)
            return rc;
    } else if (first->dev.irq_cpu != vp->dev.irq_cpu) {
        vp->dev.irq_cpu = first->dev.irq_cpu;
        printf("%s: shares its interrupt line with %s: interrupts to CPU %u\n",
               vp->dev.driver->name, first->dev.name, vp->dev.irq_cpu);
    }
    /* One line, one CPU: every queue goes where the line goes. */
    for (unsigned q = 0; q < vp->nqueues; q++) {
        struct virtqueue *vq = vp->vqs[q];
        if (vq && vq->irq_cpu != own)
            printf("%s: one interrupt per device without MSI-X: queue %u's to CPU %u too\n",
                   vp->dev.driver->name, q, vp->dev.irq_cpu);
        if (vq)
            vq->irq_cpu = (uint8_t)vp->dev.irq_cpu;
    }
    vp->shares = intx_devices[vp->gsi];
    intx_devices[vp->gsi] = vp;
    pci_write16(vp->pci, PCI_COMMAND, pci_read16(vp->pci, PCI_COMMAND) & ~PCI_COMMAND_INTX_OFF);
    return 0;
}

static void intx_disable(struct virtio_pci *vp)
{
    struct virtio_pci **link = &intx_devices[vp->gsi];
    while (*link && *link != vp)
        link = &(*link)->shares;
    if (*link)
        *link = vp->shares;
    if (!intx_devices[vp->gsi])
        irq_unroute(vp->gsi);
}

static int vpci_irq_enable(struct virtio_device *dev)
{
    struct virtio_pci *vp = vp_of(dev);
    return vp->msix ? msix_enable(vp) : intx_enable(vp);
}

static void vpci_irq_disable(struct virtio_device *dev)
{
    struct virtio_pci *vp = vp_of(dev);
    if (vp->msix)
        msix_release(vp);
    else
        intx_disable(vp);
}

_Static_assert(VIRTIO_PCI_ISR_QUEUE == VIRTIO_INT_USED_BUFFER &&
                   VIRTIO_PCI_ISR_CONFIG == VIRTIO_INT_CONFIG_CHANGE,
               "virtio-pci ISR bits");

static uint32_t vpci_interrupt_ack(struct virtio_device *dev)
{
    /* INTx: reading the ISR status acknowledges and deasserts (§4.1.4.5). */
    return mmio_read8(vp_of(dev)->isr) & (VIRTIO_INT_USED_BUFFER | VIRTIO_INT_CONFIG_CHANGE);
}

static const struct virtio_transport_ops vpci_ops = {
    .get_status = vpci_get_status,
    .set_status = vpci_set_status,
    .device_features = vpci_device_features,
    .driver_features = vpci_driver_features,
    .read_config = vpci_read_config,
    .queue_max = vpci_queue_max,
    .queue_enable = vpci_queue_enable,
    .notify = vpci_notify,
    .irq_enable = vpci_irq_enable,
    .irq_disable = vpci_irq_disable,
    .interrupt_ack = vpci_interrupt_ack,
};

/* ---- finding devices */

static int map_window(const struct virtio_pci_window *w, bool found)
{
    return found && w->length ? paging_map(w->addr, w->length, PAGING_MMIO) : 0;
}

/* Maps the windows (and the MSI-X entries that may be used); decides
 * between MSI-X and INTx. */
static int map_device(struct virtio_pci *vp)
{
    struct virtio_pci_caps *c = &vp->caps;
    int rc = map_window(&c->common, true);
    if (rc == 0)
        rc = map_window(&c->notify, true);
    if (rc == 0)
        rc = map_window(&c->isr, c->isr_found);
    if (rc == 0)
        rc = map_window(&c->device, c->device_found);
    if (rc < 0)
        return rc;
    vp->common = (uintptr_t)c->common.addr;
    vp->isr = (uintptr_t)c->isr.addr;
    vp->device_cfg = (uintptr_t)c->device.addr;
    if (c->msix_entries > MAX_VECTORS)
        c->msix_entries = MAX_VECTORS; /* entries beyond are never used */
    vp->msix = c->msix_entries &&
               paging_map(c->msix_table, c->msix_entries * MSIX_ENTRY, PAGING_MMIO) == 0;
    return 0;
}

static unsigned virtio_id(struct pci_device *p)
{
    if (p->device >= VIRTIO_PCI_DEVICE_MODERN)
        return p->device - VIRTIO_PCI_DEVICE_MODERN;
    return pci_read16(p, PCI_SUBSYSTEM_ID); /* transitional: §4.1.2.1 */
}

static int virtio_pci_probe(struct pci_device *p)
{
    unsigned id = virtio_id(p);
    struct virtio_pci *vp = calloc(1, sizeof(*vp));
    if (!vp)
        return -ENOMEM;
    if (virtio_pci_read_caps(p, &vp->caps) < 0) {
        if (!vp->caps.common_found && p->device <= VIRTIO_PCI_TRANSITIONAL_END)
            printf("virtio-pci %s: legacy-only device (virtio id %u) left alone; "
                   "Miura drives virtio 1.x devices only\n",
                   p->name + 4, id);
        else
            printf("virtio-pci %s: no usable common/notify capability (virtio id %u); "
                   "left alone\n",
                   p->name + 4, id);
        free(vp);
        return -ENODEV;
    }
    vp->pci = p;
    vp->dev.ops = &vpci_ops;
    vp->dev.device_id = id;
    snprintf(vp->dev.name, sizeof(vp->dev.name), "virtio-pci@%s", p->name + 4);
    /* Memory decoding for the windows, bus mastering for the rings and
     * for MSI-X messages. */
    pci_write16(p, PCI_COMMAND,
                pci_read16(p, PCI_COMMAND) | PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER);
    int rc = map_device(vp);
    if (rc < 0) {
        printf("%s: its windows cannot be mapped (error %d); left alone\n", vp->dev.name, -rc);
        free(vp);
        return rc;
    }
    uint16_t control = pci_read16(p, vp->caps.msix_cap + MSIX_CONTROL);
    if (vp->msix) /* on, every entry masked, until irq_enable */
        pci_write16(p, vp->caps.msix_cap + MSIX_CONTROL, control | MSIX_ENABLE | MSIX_FUNC_MASK);
    rc = virtio_device_attach(&vp->dev);
    if (rc < 0) {
        if (vp->msix)
            pci_write16(p, vp->caps.msix_cap + MSIX_CONTROL, control & ~MSIX_ENABLE);
        free(vp); /* nothing refers to it: the driver undid what it did */
    }
    return rc;
}

const struct pci_driver virtio_pci_driver = {
    .name = "virtio-pci",
    .vendor = VIRTIO_PCI_VENDOR,
    .device_min = VIRTIO_PCI_DEVICE_FIRST,
    .device_max = VIRTIO_PCI_DEVICE_LAST,
    .probe = virtio_pci_probe,
};
MIURA_DRIVER(pci, virtio_pci_driver);
