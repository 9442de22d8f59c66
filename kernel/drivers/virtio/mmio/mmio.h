/* SPDX-License-Identifier: BSD-2-Clause */
/* The virtio-mmio transport's one entry point besides its init hook. */
#ifndef MIURA_DRIVERS_VIRTIO_MMIO_H
#define MIURA_DRIVERS_VIRTIO_MMIO_H

/*
 * Probes the device that spec ("SIZE@BASE:IRQ", a virtio_mmio.device= value
 * from the command line) describes and hands it to the virtio core. 0 when
 * a driver took it; otherwise -EINVAL (bad or unmappable spec), -ENODEV (no
 * virtio device, an empty slot, a legacy device, no driver, features
 * refused), -ENOMEM, or the driver's error; nothing of the device is kept
 * then. The init hook calls it for every such word; host tests call it on
 * emulated registers.
 */
int virtio_mmio_probe(const char *spec);

#endif
