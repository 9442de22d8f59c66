/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The virtio device interface (DESIGN §2: transport separate from device).
 *
 * A transport (virtio-mmio, virtio-pci) finds devices, wraps each
 * in a struct virtio_device with its struct virtio_transport_ops, and hands
 * it to virtio_device_attach(). Device drivers (fs, vsock) register a struct
 * virtio_driver with MIURA_DRIVER(virtio, var) and only ever use the
 * functions below: they never learn which transport carries their device.
 * Only VIRTIO_F_VERSION_1 devices are driven.
 *
 * Errors are negative errno values. Every setup function a probe calls has
 * an undo (virtio_queue_destroy, virtio_irq_disable, virtio_device_reset),
 * so a probe that fails half-way leaves nothing behind.
 */
#ifndef MIURA_DRIVERS_VIRTIO_H
#define MIURA_DRIVERS_VIRTIO_H

#include <stdbool.h>
#include <stdint.h>

#include "abi/virtio.h"
#include "drivers/virtio/virtqueue.h"
#include "lib/init.h"
#include "miura/miura.h"

/* Why a device interrupted (virtio 1.2 §2.3, §4.1.4.5, §4.2.2): the
 * transport translates its own register into these bits. */
#define VIRTIO_INT_USED_BUFFER   (1u << 0) /* some queue has used buffers */
#define VIRTIO_INT_CONFIG_CHANGE (1u << 1) /* the device configuration changed */

struct virtio_device;

/* What a transport implements. */
struct virtio_transport_ops {
    uint8_t (*get_status)(struct virtio_device *dev);
    void (*set_status)(struct virtio_device *dev, uint8_t status); /* 0 resets */
    uint64_t (*device_features)(struct virtio_device *dev);
    void (*driver_features)(struct virtio_device *dev, uint64_t features);
    /* Copies config space [offset, offset+len) consistently (generation).
     * 0, -EINVAL (outside the config space) or -EIO (never consistent). */
    int (*read_config)(struct virtio_device *dev, unsigned offset, void *buf, unsigned len);
    /* Largest size the device accepts for queue `index` (0: no such queue). */
    uint16_t (*queue_max)(struct virtio_device *dev, unsigned index);
    /* Tells the device where queue `index` lives and enables it: 0 or -EIO.
     * vq->irq_cpu holds the CPU wanted for its interrupt; a transport that
     * cannot send it there (one interrupt for several queues) says so in
     * one line and sets the CPU it will go to. */
    int (*queue_enable)(struct virtio_device *dev, unsigned index, struct virtqueue *vq);
    void (*notify)(struct virtio_device *dev, unsigned index);
    /* Routes the device's interrupts to virtio_device_interrupt(dev) (or
     * virtio_device_event): each queue's to its vq->irq_cpu, the rest to
     * dev->irq_cpu. 0 or a negative errno. irq_disable undoes it. */
    int (*irq_enable)(struct virtio_device *dev);
    void (*irq_disable)(struct virtio_device *dev);
    /* Reads and acknowledges the interrupt: VIRTIO_INT_* bits, 0 if none. */
    uint32_t (*interrupt_ack)(struct virtio_device *dev);
};

struct virtio_device {
    const struct virtio_transport_ops *ops;
    const struct virtio_driver *driver; /* set while the driver has the device */
    uint32_t device_id;
    uint64_t features; /* negotiated */
    void *driver_data;
    char name[24];                       /* e.g. "virtio-mmio@0xfeb00e00" */
    unsigned irq_cpu;                    /* the device's interrupt CPU (virtio_device_attach) */
    uint32_t irqs[MIURA_MAX_CPUS];       /* interrupts each CPU took for it */
    struct virtio_device *next_attached; /* miura_irq_counts' list */
};

struct virtio_driver {
    /* "virtio-NAME": NAME names the device on the kernel command line
     * (irq_cpu.NAME=CPU, irq_cpu.NAME.QUEUE=CPU) and in miura_irq_counts. */
    const char *name;
    uint32_t device_id;
    uint64_t features; /* what the driver can use, besides VERSION_1 */
    /* Called after feature negotiation (FEATURES_OK accepted): sets up its
     * queues and interrupt and calls virtio_device_ready. Returns 0, or a
     * negative errno after undoing everything it did (the device is then
     * marked FAILED and may be freed). */
    int (*probe)(struct virtio_device *dev);
    /* Required. Interrupt context: only acknowledge-and-wake work. cause
     * holds VIRTIO_INT_* bits. */
    void (*interrupt)(struct virtio_device *dev, uint32_t cause);
};

/* Runs from a transport: negotiates features (virtio 1.2 §3.1.1 steps 1-6),
 * picks the device's interrupt CPU (irq_cpu.NAME=, else irq_cpu=; one line
 * when it is not the default) and hands the device to the driver for its id. 0 when the driver took
 * it; -ENODEV (no driver linked, or features refused), or the probe's
 * error: the device is then left FAILED (or untouched without a driver),
 * with nothing of it referenced anywhere, and the transport may free it. */
int virtio_device_attach(struct virtio_device *dev);

/* Allocates ring memory for queue `index` (at most max_size entries, capped
 * by the device), initialises vq and enables the queue. vq->irq_cpu is then
 * the CPU its interrupt goes to: irq_cpu.NAME.INDEX= where the transport
 * can honour it (else it says why not), else the device's; a transport may
 * still change it in irq_enable (read it after virtio_irq_enable). 0,
 * -ENOENT (no such queue), -ENOMEM, -EIO (the device refused it). */
int virtio_queue_create(struct virtio_device *dev, unsigned index, uint16_t max_size,
                        struct virtqueue *vq);
/* Frees the ring memory of a queue virtio_queue_create made. Only after
 * virtio_device_reset, or before virtio_device_ready: the device must not
 * be using it. */
void virtio_queue_destroy(struct virtqueue *vq);
/* Routes the device's interrupt to its driver's interrupt callback: 0 or a
 * negative errno (-EBUSY: the line is taken). */
int virtio_irq_enable(struct virtio_device *dev);
void virtio_irq_disable(struct virtio_device *dev);
/* §3.1.1 step 8: DRIVER_OK. */
void virtio_device_ready(struct virtio_device *dev);
/* Resets the device: it stops using every queue (§2.1.2, §3.3.1). */
void virtio_device_reset(struct virtio_device *dev);
/* Publishes new chains and notifies the device if it wants it. */
void virtio_queue_kick(struct virtio_device *dev, unsigned index, struct virtqueue *vq);
/* Reads dev's config space: see virtio_transport_ops.read_config. */
int virtio_read_config(struct virtio_device *dev, unsigned offset, void *buf, unsigned len);

/* For transports: the interrupt handler to route (arg is the device); it
 * asks the transport's interrupt_ack why, then tells the driver. */
void virtio_device_interrupt(void *dev);
/* For transports that know the cause without asking (one MSI-X vector per
 * cause): tells dev's driver, if it has one, in interrupt context. */
void virtio_device_event(struct virtio_device *dev, uint32_t cause);

static inline bool virtio_has_feature(const struct virtio_device *dev, unsigned bit)
{
    return dev->features & VIRTIO_FEATURE(bit);
}

#endif
