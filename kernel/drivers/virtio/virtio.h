/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The virtio device interface (DESIGN §2: transport separate from device).
 *
 * A transport (virtio-mmio today, virtio-pci next) finds devices and
 * implements struct virtio_transport_ops. Device drivers (fs, vsock)
 * register a struct virtio_driver with MIURA_DRIVER(virtio_driver, var) and
 * only ever use the functions below. Only VIRTIO_F_VERSION_1 devices are
 * driven.
 */
#ifndef MIURA_DRIVERS_VIRTIO_H
#define MIURA_DRIVERS_VIRTIO_H

#include <stdbool.h>
#include <stdint.h>

#include "abi/virtio.h"
#include "drivers/virtio/virtqueue.h"
#include "lib/init.h"

struct virtio_device;

struct virtio_transport_ops {
    uint8_t (*get_status)(struct virtio_device *dev);
    void (*set_status)(struct virtio_device *dev, uint8_t status); /* 0 resets */
    uint64_t (*device_features)(struct virtio_device *dev);
    void (*driver_features)(struct virtio_device *dev, uint64_t features);
    /* Copies config space [offset, offset+len) consistently (generation). */
    int (*read_config)(struct virtio_device *dev, unsigned offset, void *buf, unsigned len);
    /* Largest size the device accepts for queue `index` (0: no such queue). */
    uint16_t (*queue_max)(struct virtio_device *dev, unsigned index);
    /* Tells the device where queue `index` lives and enables it. */
    int (*queue_enable)(struct virtio_device *dev, unsigned index, const struct virtqueue *vq);
    void (*notify)(struct virtio_device *dev, unsigned index);
    /* Reads and acknowledges the interrupt cause (VIRTIO_MMIO_INT_*). */
    uint32_t (*interrupt_ack)(struct virtio_device *dev);
};

struct virtio_device {
    const struct virtio_transport_ops *ops;
    const struct virtio_driver *driver;
    uint32_t device_id;
    uint64_t features; /* negotiated */
    unsigned irq;      /* GSI */
    uintptr_t base;    /* transport registers */
    void *driver_data;
    char name[24]; /* e.g. "virtio-mmio@0xfeb00e00" */
};

struct virtio_driver {
    const char *name;
    uint32_t device_id;
    uint64_t features; /* what the driver can use, besides VERSION_1 */
    /* Called after feature negotiation (FEATURES_OK accepted); sets up its
     * queues and interrupt, then calls virtio_device_ready. Negative errno on
     * failure (the device is then marked FAILED). */
    int (*probe)(struct virtio_device *dev);
    /* Interrupt context: only acknowledge-and-wake work. */
    void (*interrupt)(struct virtio_device *dev, uint32_t cause);
};

/* Runs from a transport: negotiates features (virtio 1.2 §3.1.1 steps 1-6)
 * and hands the device to the driver for its id. */
int virtio_device_attach(struct virtio_device *dev);

/* Allocates ring memory for queue `index` (at most max_size entries, capped
 * by the device), initialises vq and enables the queue. */
int virtio_queue_create(struct virtio_device *dev, unsigned index, uint16_t max_size,
                        struct virtqueue *vq);
/* Routes the device's interrupt to its driver's interrupt callback. */
int virtio_irq_enable(struct virtio_device *dev);
/* §3.1.1 step 8: DRIVER_OK. */
void virtio_device_ready(struct virtio_device *dev);
/* Publishes new chains and notifies the device if it wants it. */
void virtio_queue_kick(struct virtio_device *dev, unsigned index, struct virtqueue *vq);

static inline bool virtio_has_feature(const struct virtio_device *dev, unsigned bit)
{
    return dev->features & VIRTIO_FEATURE(bit);
}

#endif
