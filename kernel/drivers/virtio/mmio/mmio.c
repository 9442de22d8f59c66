/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * virtio-mmio transport, version 2 (virtio 1.2 §4.2): implements struct
 * virtio_transport_ops for each device found. Devices are found from the
 * `virtio_mmio.device=SIZE@BASE:IRQ` words QEMU microvm (and Firecracker)
 * append to the kernel command line. Legacy (version 1) devices are reported
 * and left alone: run QEMU with -global virtio-mmio.force-legacy=false.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arch/x86_64/arch.h"
#include "drivers/virtio/mmio/mmio.h"
#include "drivers/virtio/virtio.h"
#include "lib/cmdline.h"
#include "lib/init.h"
#include "lib/list.h"

#define CMDLINE_KEY      "virtio_mmio.device="
#define MMIO_WINDOW_BASE 0xfe000000ull /* the uncached window paging.c maps */
#define MMIO_WINDOW_END  0x100000000ull
#define CONFIG_SPACE     0x100u /* device config at VIRTIO_MMIO_CONFIG, this long */
#define REGION_MIN       (VIRTIO_MMIO_CONFIG + CONFIG_SPACE)
#define CONFIG_TRIES     100 /* generation changes tolerated while reading config */

struct virtio_mmio {
    uintptr_t base;           /* registers, identity-mapped */
    unsigned irq;             /* GSI */
    struct virtio_device dev; /* last: short offsets from dev to the above */
};

static struct virtio_mmio *mmio_of(struct virtio_device *dev)
{
    return container_of(dev, struct virtio_mmio, dev);
}

static uint32_t reg_read(struct virtio_device *dev, unsigned reg)
{
    return mmio_read32(mmio_of(dev)->base + reg);
}

static void reg_write(struct virtio_device *dev, unsigned reg, uint32_t v)
{
    mmio_write32(mmio_of(dev)->base + reg, v);
}

static uint8_t mmio_get_status(struct virtio_device *dev)
{
    return (uint8_t)reg_read(dev, VIRTIO_MMIO_STATUS);
}

static void mmio_set_status(struct virtio_device *dev, uint8_t status)
{
    reg_write(dev, VIRTIO_MMIO_STATUS, status);
}

static uint64_t mmio_device_features(struct virtio_device *dev)
{
    reg_write(dev, VIRTIO_MMIO_DEVICE_FEATURES_SEL, 0);
    uint64_t lo = reg_read(dev, VIRTIO_MMIO_DEVICE_FEATURES);
    reg_write(dev, VIRTIO_MMIO_DEVICE_FEATURES_SEL, 1);
    uint64_t hi = reg_read(dev, VIRTIO_MMIO_DEVICE_FEATURES);
    return lo | (hi << 32);
}

static void mmio_driver_features(struct virtio_device *dev, uint64_t features)
{
    reg_write(dev, VIRTIO_MMIO_DRIVER_FEATURES_SEL, 0);
    reg_write(dev, VIRTIO_MMIO_DRIVER_FEATURES, (uint32_t)features);
    reg_write(dev, VIRTIO_MMIO_DRIVER_FEATURES_SEL, 1);
    reg_write(dev, VIRTIO_MMIO_DRIVER_FEATURES, (uint32_t)(features >> 32));
}

static int mmio_read_config(struct virtio_device *dev, unsigned offset, void *buf, unsigned len)
{
    uintptr_t config = mmio_of(dev)->base + VIRTIO_MMIO_CONFIG + offset;
    if (offset > CONFIG_SPACE || len > CONFIG_SPACE - offset)
        return -EINVAL;
    /* §4.2.2.2: retry while the generation changes under us. */
    for (int tries = 0; tries < CONFIG_TRIES; tries++) {
        uint32_t gen = reg_read(dev, VIRTIO_MMIO_CONFIG_GENERATION);
        for (unsigned i = 0; i < len; i++)
            ((uint8_t *)buf)[i] = mmio_read8(config + i);
        if (reg_read(dev, VIRTIO_MMIO_CONFIG_GENERATION) == gen)
            return 0;
    }
    return -EIO;
}

static uint16_t mmio_queue_max(struct virtio_device *dev, unsigned index)
{
    reg_write(dev, VIRTIO_MMIO_QUEUE_SEL, index);
    if (reg_read(dev, VIRTIO_MMIO_QUEUE_READY))
        return 0; /* already in use */
    uint32_t max = reg_read(dev, VIRTIO_MMIO_QUEUE_NUM_MAX);
    return max > VIRTQ_MAX_SIZE ? VIRTQ_MAX_SIZE : (uint16_t)max;
}

static int mmio_queue_enable(struct virtio_device *dev, unsigned index, struct virtqueue *vq)
{
    if (vq->irq_cpu != dev->irq_cpu) { /* one line per device: one CPU */
        printf("%s: one interrupt per virtio-mmio device: queue %u's to CPU %u too\n",
               dev->driver->name, index, dev->irq_cpu);
        vq->irq_cpu = (uint8_t)dev->irq_cpu;
    }
    reg_write(dev, VIRTIO_MMIO_QUEUE_SEL, index);
    reg_write(dev, VIRTIO_MMIO_QUEUE_NUM, vq->size);
    uint64_t desc = vq_desc_addr(vq), avail = vq_avail_addr(vq), used = vq_used_addr(vq);
    reg_write(dev, VIRTIO_MMIO_QUEUE_DESC_LOW, (uint32_t)desc);
    reg_write(dev, VIRTIO_MMIO_QUEUE_DESC_HIGH, (uint32_t)(desc >> 32));
    reg_write(dev, VIRTIO_MMIO_QUEUE_DRIVER_LOW, (uint32_t)avail);
    reg_write(dev, VIRTIO_MMIO_QUEUE_DRIVER_HIGH, (uint32_t)(avail >> 32));
    reg_write(dev, VIRTIO_MMIO_QUEUE_DEVICE_LOW, (uint32_t)used);
    reg_write(dev, VIRTIO_MMIO_QUEUE_DEVICE_HIGH, (uint32_t)(used >> 32));
    reg_write(dev, VIRTIO_MMIO_QUEUE_READY, 1);
    return reg_read(dev, VIRTIO_MMIO_QUEUE_READY) == 1 ? 0 : -EIO;
}

static void mmio_notify(struct virtio_device *dev, unsigned index)
{
    reg_write(dev, VIRTIO_MMIO_QUEUE_NOTIFY, index);
}

static int mmio_irq_enable(struct virtio_device *dev)
{
    /* QEMU's virtio-mmio line is level-triggered: high until acknowledged.
     * One line for every queue (mmio_queue_enable said so). */
    return irq_route(mmio_of(dev)->irq, true, dev->irq_cpu, virtio_device_interrupt, dev);
}

static void mmio_irq_disable(struct virtio_device *dev)
{
    irq_unroute(mmio_of(dev)->irq);
}

/* The InterruptStatus bits are the transport-neutral VIRTIO_INT_* ones. */
_Static_assert(VIRTIO_MMIO_INT_VRING == VIRTIO_INT_USED_BUFFER &&
                   VIRTIO_MMIO_INT_CONFIG == VIRTIO_INT_CONFIG_CHANGE,
               "virtio-mmio interrupt causes");

static uint32_t mmio_interrupt_ack(struct virtio_device *dev)
{
    uint32_t cause = reg_read(dev, VIRTIO_MMIO_INTERRUPT_STATUS);
    if (cause)
        reg_write(dev, VIRTIO_MMIO_INTERRUPT_ACK, cause);
    return cause & (VIRTIO_INT_USED_BUFFER | VIRTIO_INT_CONFIG_CHANGE);
}

static const struct virtio_transport_ops mmio_ops = {
    .get_status = mmio_get_status,
    .set_status = mmio_set_status,
    .device_features = mmio_device_features,
    .driver_features = mmio_driver_features,
    .read_config = mmio_read_config,
    .queue_max = mmio_queue_max,
    .queue_enable = mmio_queue_enable,
    .notify = mmio_notify,
    .irq_enable = mmio_irq_enable,
    .irq_disable = mmio_irq_disable,
    .interrupt_ack = mmio_interrupt_ack,
};

/* Parses "SIZE@BASE:IRQ" (SIZE may carry K/M suffixes). */
static int virtio_mmio_parse(const char *s, uint64_t *size, uint64_t *base, uint64_t *irq)
{
    uint64_t *const field[3] = {size, base, irq};
    for (int k = 0; k < 3; k++) {
        int n = cmdline_u64(s, field[k]);
        if (n <= 0 || s[n] != "@:"[k]) /* the last one ends the string */
            return -EINVAL;
        s += n + 1;
    }
    return 0;
}

int virtio_mmio_probe(const char *spec)
{
    uint64_t size, base, irq;
    if (virtio_mmio_parse(spec, &size, &base, &irq) < 0) {
        printf("virtio-mmio: cannot parse '%s' (want SIZE@BASE:IRQ)\n", spec);
        return -EINVAL;
    }
    if (size < REGION_MIN || base < MMIO_WINDOW_BASE || base >= MMIO_WINDOW_END ||
        size > MMIO_WINDOW_END - base || irq >= IRQ_MAX_GSI) {
        printf("virtio-mmio: device %s outside what Miura maps; ignored\n", spec);
        return -EINVAL;
    }
    if (mmio_read32(base + VIRTIO_MMIO_MAGIC_VALUE) != VIRTIO_MMIO_MAGIC)
        return -ENODEV;
    uint32_t id = mmio_read32(base + VIRTIO_MMIO_DEVICE_ID);
    if (id == 0)
        return -ENODEV; /* an empty slot */
    if (mmio_read32(base + VIRTIO_MMIO_VERSION) != VIRTIO_MMIO_VERSION_MODERN) {
        printf("virtio-mmio@%#llx: legacy device (id %u) left alone; use "
               "-global virtio-mmio.force-legacy=false\n",
               (unsigned long long)base, id);
        return -ENODEV;
    }
    struct virtio_mmio *m = calloc(1, sizeof(*m));
    if (!m)
        return -ENOMEM;
    m->base = (uintptr_t)base;
    m->irq = (unsigned)irq;
    m->dev.ops = &mmio_ops;
    m->dev.device_id = id;
    snprintf(m->dev.name, sizeof(m->dev.name), "virtio-mmio@%#llx", (unsigned long long)base);
    int rc = virtio_device_attach(&m->dev);
    if (rc < 0)
        free(m); /* nothing refers to it: the driver undid what it did */
    return rc;
}

static int virtio_mmio_init(void)
{
    for (int i = 1; i < boot_argc; i++)
        if (strncmp(boot_argv[i], CMDLINE_KEY, sizeof(CMDLINE_KEY) - 1) == 0)
            (void)virtio_mmio_probe(boot_argv[i] + sizeof(CMDLINE_KEY) - 1);
    return 0;
}
MIURA_INIT(INIT_LEVEL_BUS, virtio_mmio_init);
