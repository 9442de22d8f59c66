/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Transport-independent virtio device setup (virtio 1.2 §3.1.1) and the
 * driver registry. Contract: virtio.h.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "arch/x86_64/arch.h"
#include "drivers/virtio/virtio.h"
#include "mm/page.h"

MIURA_DRIVERS_OF(virtio);

static struct virtio_device *attached; /* newest first */

static const struct virtio_driver *find_driver(uint32_t device_id)
{
    for (const void *const *r = __start_miura_drivers_virtio; r < __stop_miura_drivers_virtio;
         r++) {
        const struct virtio_driver *d = *r;
        if (d->device_id == device_id)
            return d;
    }
    return NULL;
}

static void add_status(struct virtio_device *dev, uint8_t bits)
{
    dev->ops->set_status(dev, dev->ops->get_status(dev) | bits);
}

/* The value of irq_cpu.NAME (queue < 0) or irq_cpu.NAME.QUEUE, a CPU
 * online; def when absent or out of range (miura_getarg_uint says so). */
static unsigned irq_cpu_arg(const struct virtio_device *dev, int queue, unsigned def)
{
    char key[40];
    snprintf(key, sizeof(key), queue < 0 ? "irq_cpu.%s" : "irq_cpu.%s.%d", dev->driver->name + 7,
             queue);
    return miura_getarg_uint(key, def, 0, miura_cpu_count() - 1);
}

/* The device is given up on (§2.1.1: FAILED). */
static int give_up(struct virtio_device *dev, int rc)
{
    dev->ops->set_status(dev, VIRTIO_STATUS_FAILED);
    dev->driver = NULL;
    return rc;
}

int virtio_device_attach(struct virtio_device *dev)
{
    const struct virtio_driver *drv = find_driver(dev->device_id);
    if (!drv)
        return -ENODEV; /* not linked into this appliance: leave it alone */

    /* §3.1.1 steps 1-3: reset, ACKNOWLEDGE, DRIVER. */
    virtio_device_reset(dev);
    add_status(dev, VIRTIO_STATUS_ACKNOWLEDGE);
    add_status(dev, VIRTIO_STATUS_DRIVER);

    /* Step 4: read the device's features, write the subset we understand. */
    uint64_t offered = dev->ops->device_features(dev);
    if (!(offered & VIRTIO_FEATURE(VIRTIO_F_VERSION_1))) {
        printf("%s: device %u does not offer VIRTIO_F_VERSION_1; left alone\n", dev->name,
               dev->device_id);
        return give_up(dev, -ENODEV);
    }
    dev->features = offered & (drv->features | VIRTIO_FEATURE(VIRTIO_F_VERSION_1));
    dev->ops->driver_features(dev, dev->features);

    /* Steps 5-6: FEATURES_OK, then read it back: the device may refuse. */
    add_status(dev, VIRTIO_STATUS_FEATURES_OK);
    if (!(dev->ops->get_status(dev) & VIRTIO_STATUS_FEATURES_OK)) {
        printf("%s: device refused features %#llx; left alone\n", dev->name,
               (unsigned long long)dev->features);
        return give_up(dev, -ENODEV);
    }

    /* Step 7 (queues, config) and 8 (DRIVER_OK) are the driver's. */
    dev->driver = drv;
    dev->irq_cpu = irq_cpu_arg(dev, -1, irq_cpu());
    if (dev->irq_cpu != irq_cpu())
        printf("%s: interrupts to CPU %u\n", drv->name, dev->irq_cpu);
    int rc = drv->probe(dev);
    if (rc < 0) {
        printf("%s: %s driver failed: error %d\n", dev->name, drv->name, -rc);
        return give_up(dev, rc); /* the probe undid all it did */
    }
    dev->next_attached = attached;
    attached = dev;
    return 0;
}

int virtio_queue_create(struct virtio_device *dev, unsigned index, uint16_t max_size,
                        struct virtqueue *vq)
{
    uint16_t size = dev->ops->queue_max(dev, index);
    if (size == 0)
        return -ENOENT;
    if (size > max_size)
        size = max_size;
    while (size & (size - 1)) /* split queues want a power of two */
        size &= (uint16_t)(size - 1);
    size_t pages = (vq_ring_bytes(size) + PAGE_SIZE - 1) / PAGE_SIZE;
    void *mem = page_alloc(pages);
    if (!mem)
        return -ENOMEM;
    int rc = vq_init(vq, size, mem, virtio_has_feature(dev, VIRTIO_F_RING_EVENT_IDX));
    /* What the command line wants; the transport's to honour (virtio.h). */
    vq->irq_cpu = (uint8_t)irq_cpu_arg(dev, (int)index, dev->irq_cpu);
    if (rc == 0)
        rc = dev->ops->queue_enable(dev, index, vq);
    if (rc < 0)
        page_free(mem, pages);
    return rc;
}

void virtio_queue_destroy(struct virtqueue *vq)
{
    page_free(vq->desc, (vq_ring_bytes(vq->size) + PAGE_SIZE - 1) / PAGE_SIZE);
}

void virtio_device_event(struct virtio_device *dev, uint32_t cause)
{
    if (cause && dev->driver) {
        dev->irqs[miura_cpu_id()]++; /* only this CPU writes its count */
        dev->driver->interrupt(dev, cause);
    }
}

/* " fs 3/0 vsock 0/9": per device, its name, then each CPU's count after
 * a '/' (the name skipped by %.0s); no space first. */
char *miura_irq_counts(char *buf, size_t len)
{
    size_t at = 0;
    buf[0] = 0;
    for (struct virtio_device *dev = attached; dev; dev = dev->next_attached)
        for (unsigned c = 0; c < miura_cpu_count() && at < len; c++)
            at += (size_t)snprintf(buf + at, len - at, c ? "%.0s/%u" : " %s %u" + (at == 0),
                                   dev->driver->name + 7 /* "virtio-NAME" */,
                                   __atomic_load_n(&dev->irqs[c], __ATOMIC_RELAXED));
    return buf;
}

void virtio_device_interrupt(void *arg)
{
    struct virtio_device *dev = arg;
    virtio_device_event(dev, dev->ops->interrupt_ack(dev));
}

int virtio_irq_enable(struct virtio_device *dev)
{
    return dev->ops->irq_enable(dev);
}

void virtio_irq_disable(struct virtio_device *dev)
{
    dev->ops->irq_disable(dev);
}

void virtio_device_ready(struct virtio_device *dev)
{
    add_status(dev, VIRTIO_STATUS_DRIVER_OK);
}

void virtio_device_reset(struct virtio_device *dev)
{
    dev->ops->set_status(dev, 0);
}

void virtio_queue_kick(struct virtio_device *dev, unsigned index, struct virtqueue *vq)
{
    if (vq_kick_prepare(vq))
        dev->ops->notify(dev, index);
}

int virtio_read_config(struct virtio_device *dev, unsigned offset, void *buf, unsigned len)
{
    return dev->ops->read_config(dev, offset, buf, len);
}
