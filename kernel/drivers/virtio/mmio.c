/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * virtio-mmio transport, version 2 (virtio 1.2 §4.2). Devices are found from
 * the `virtio_mmio.device=SIZE@BASE:IRQ` words QEMU microvm (and Firecracker)
 * append to the kernel command line. Legacy (version 1) devices are reported
 * and left alone: run QEMU with -global virtio-mmio.force-legacy=false.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arch/x86_64/arch.h"
#include "drivers/virtio/virtio.h"
#include "lib/cmdline.h"
#include "lib/init.h"
#include "miura/miura.h"

#define MMIO_WINDOW_BASE 0xfe000000ull

static inline uint32_t mmio_read(struct virtio_device *dev, unsigned reg)
{
    return *(volatile uint32_t *)(dev->base + reg);
}
static inline void mmio_write(struct virtio_device *dev, unsigned reg, uint32_t v)
{
    *(volatile uint32_t *)(dev->base + reg) = v;
}

static uint8_t mmio_get_status(struct virtio_device *dev)
{
    return (uint8_t)mmio_read(dev, VIRTIO_MMIO_STATUS);
}

static void mmio_set_status(struct virtio_device *dev, uint8_t status)
{
    mmio_write(dev, VIRTIO_MMIO_STATUS, status);
}

static uint64_t mmio_device_features(struct virtio_device *dev)
{
    mmio_write(dev, VIRTIO_MMIO_DEVICE_FEATURES_SEL, 0);
    uint64_t lo = mmio_read(dev, VIRTIO_MMIO_DEVICE_FEATURES);
    mmio_write(dev, VIRTIO_MMIO_DEVICE_FEATURES_SEL, 1);
    uint64_t hi = mmio_read(dev, VIRTIO_MMIO_DEVICE_FEATURES);
    return lo | (hi << 32);
}

static void mmio_driver_features(struct virtio_device *dev, uint64_t features)
{
    mmio_write(dev, VIRTIO_MMIO_DRIVER_FEATURES_SEL, 0);
    mmio_write(dev, VIRTIO_MMIO_DRIVER_FEATURES, (uint32_t)features);
    mmio_write(dev, VIRTIO_MMIO_DRIVER_FEATURES_SEL, 1);
    mmio_write(dev, VIRTIO_MMIO_DRIVER_FEATURES, (uint32_t)(features >> 32));
}

static int mmio_read_config(struct virtio_device *dev, unsigned offset, void *buf, unsigned len)
{
    if (offset > 0x100 || len > 0x100 - offset) /* config space ends at 0x200 */
        return -EINVAL;
    /* §4.2.2.2: retry while the generation changes under us. */
    for (int tries = 0; tries < 100; tries++) {
        uint32_t gen = mmio_read(dev, VIRTIO_MMIO_CONFIG_GENERATION);
        for (unsigned i = 0; i < len; i++)
            ((uint8_t *)buf)[i] =
                *(volatile uint8_t *)(dev->base + VIRTIO_MMIO_CONFIG + offset + i);
        if (mmio_read(dev, VIRTIO_MMIO_CONFIG_GENERATION) == gen)
            return 0;
    }
    return -EIO;
}

static uint16_t mmio_queue_max(struct virtio_device *dev, unsigned index)
{
    mmio_write(dev, VIRTIO_MMIO_QUEUE_SEL, index);
    if (mmio_read(dev, VIRTIO_MMIO_QUEUE_READY))
        return 0; /* already in use */
    uint32_t max = mmio_read(dev, VIRTIO_MMIO_QUEUE_NUM_MAX);
    return max > VIRTQ_MAX_SIZE ? VIRTQ_MAX_SIZE : (uint16_t)max;
}

static int mmio_queue_enable(struct virtio_device *dev, unsigned index, const struct virtqueue *vq)
{
    mmio_write(dev, VIRTIO_MMIO_QUEUE_SEL, index);
    mmio_write(dev, VIRTIO_MMIO_QUEUE_NUM, vq->size);
    uint64_t desc = vq_desc_addr(vq), avail = vq_avail_addr(vq), used = vq_used_addr(vq);
    mmio_write(dev, VIRTIO_MMIO_QUEUE_DESC_LOW, (uint32_t)desc);
    mmio_write(dev, VIRTIO_MMIO_QUEUE_DESC_HIGH, (uint32_t)(desc >> 32));
    mmio_write(dev, VIRTIO_MMIO_QUEUE_DRIVER_LOW, (uint32_t)avail);
    mmio_write(dev, VIRTIO_MMIO_QUEUE_DRIVER_HIGH, (uint32_t)(avail >> 32));
    mmio_write(dev, VIRTIO_MMIO_QUEUE_DEVICE_LOW, (uint32_t)used);
    mmio_write(dev, VIRTIO_MMIO_QUEUE_DEVICE_HIGH, (uint32_t)(used >> 32));
    mmio_write(dev, VIRTIO_MMIO_QUEUE_READY, 1);
    return mmio_read(dev, VIRTIO_MMIO_QUEUE_READY) == 1 ? 0 : -EIO;
}

static void mmio_notify(struct virtio_device *dev, unsigned index)
{
    mmio_write(dev, VIRTIO_MMIO_QUEUE_NOTIFY, index);
}

static uint32_t mmio_interrupt_ack(struct virtio_device *dev)
{
    uint32_t cause = mmio_read(dev, VIRTIO_MMIO_INTERRUPT_STATUS);
    if (cause)
        mmio_write(dev, VIRTIO_MMIO_INTERRUPT_ACK, cause);
    return cause;
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
    .interrupt_ack = mmio_interrupt_ack,
};

/* Parses "SIZE@BASE:IRQ" (SIZE may carry K/M suffixes). */
int virtio_mmio_parse(const char *s, uint64_t *size, uint64_t *base, uint64_t *irq)
{
    int n = cmdline_u64(s, size);
    if (n <= 0 || s[n] != '@')
        return -EINVAL;
    s += n + 1;
    n = cmdline_u64(s, base);
    if (n <= 0 || s[n] != ':')
        return -EINVAL;
    s += n + 1;
    n = cmdline_u64(s, irq);
    if (n <= 0 || s[n] != '\0')
        return -EINVAL;
    return 0;
}

static void probe_one(const char *spec)
{
    uint64_t size, base, irq;
    if (virtio_mmio_parse(spec, &size, &base, &irq) < 0) {
        printf("virtio-mmio: cannot parse '%s' (want SIZE@BASE:IRQ)\n", spec);
        return;
    }
    /* Only the identity-mapped MMIO window is mapped, uncached. */
    if (size < 0x200 || base < MMIO_WINDOW_BASE || base > 0xffffffffull - size ||
        irq >= IRQ_MAX_GSI) {
        printf("virtio-mmio: device %s outside what Miura maps; ignored\n", spec);
        return;
    }
    struct virtio_device probe = {.base = (uintptr_t)base};
    if (mmio_read(&probe, VIRTIO_MMIO_MAGIC_VALUE) != VIRTIO_MMIO_MAGIC)
        return;
    uint32_t id = mmio_read(&probe, VIRTIO_MMIO_DEVICE_ID);
    if (id == 0)
        return; /* an empty slot */
    if (mmio_read(&probe, VIRTIO_MMIO_VERSION) != VIRTIO_MMIO_VERSION_MODERN) {
        printf("virtio-mmio@%#llx: legacy device (id %u) left alone; use "
               "-global virtio-mmio.force-legacy=false\n",
               (unsigned long long)base, id);
        return;
    }
    struct virtio_device *dev = calloc(1, sizeof(*dev));
    if (!dev)
        return;
    dev->ops = &mmio_ops;
    dev->base = (uintptr_t)base;
    dev->device_id = id;
    dev->irq = (unsigned)irq;
    snprintf(dev->name, sizeof(dev->name), "virtio-mmio@%#llx", (unsigned long long)base);
    if (virtio_device_attach(dev) < 0 && !dev->driver)
        free(dev);
}

static int virtio_mmio_init(void)
{
    char *words[64];
    static char buf[4096];
    strlcpy(buf, miura_cmdline(), sizeof(buf));
    int n = cmdline_split(buf, words, 64);
    for (int i = 0; i < n; i++)
        if (strncmp(words[i], "virtio_mmio.device=", 19) == 0)
            probe_one(words[i] + 19);
    return 0;
}
MIURA_INIT(INIT_LEVEL_BUS, virtio_mmio_init);
