/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Virtio 1.2 wire facts shared by guest drivers and host code: device status
 * bits, the feature bits Miura uses, the split-virtqueue layouts (§2.7), the
 * virtio-mmio version 2 register map (§4.2.2) and device ids (§5).
 *
 * All multi-byte fields are little-endian on the wire (virtio 1.x, §1.4);
 * Miura only runs on little-endian x86-64, so they are plain integers here.
 */
#ifndef MIURA_ABI_VIRTIO_H
#define MIURA_ABI_VIRTIO_H

#include <stdint.h>

/* ---- §2.1 device status field */
#define VIRTIO_STATUS_ACKNOWLEDGE        1u
#define VIRTIO_STATUS_DRIVER             2u
#define VIRTIO_STATUS_DRIVER_OK          4u
#define VIRTIO_STATUS_FEATURES_OK        8u
#define VIRTIO_STATUS_DEVICE_NEEDS_RESET 64u
#define VIRTIO_STATUS_FAILED             128u

/* ---- §6 reserved feature bits (bit numbers, not masks) */
#define VIRTIO_F_INDIRECT_DESC     28
#define VIRTIO_F_RING_EVENT_IDX    29
#define VIRTIO_F_VERSION_1         32
#define VIRTIO_F_ACCESS_PLATFORM   33
#define VIRTIO_F_RING_PACKED       34
#define VIRTIO_F_IN_ORDER          35
#define VIRTIO_F_ORDER_PLATFORM    36
#define VIRTIO_F_NOTIFICATION_DATA 38
#define VIRTIO_F_RING_RESET        40

#define VIRTIO_FEATURE(bit) (UINT64_C(1) << (bit))

/* ---- §5 device ids */
#define VIRTIO_ID_VSOCK 19
#define VIRTIO_ID_FS    26

/* ---- §2.7.5 split virtqueue descriptor table */
#define VIRTQ_DESC_F_NEXT     1u /* the chain continues in .next */
#define VIRTQ_DESC_F_WRITE    2u /* device-writable (otherwise device-readable) */
#define VIRTQ_DESC_F_INDIRECT 4u /* buffer holds a table of descriptors */

/* Largest split queue size (§2.7: Queue Size is a power of 2, at most 32768). */
#define VIRTQ_MAX_SIZE 32768u

struct virtq_desc {
    uint64_t addr; /* guest physical address */
    uint32_t len;
    uint16_t flags; /* VIRTQ_DESC_F_* */
    uint16_t next;  /* valid when flags has VIRTQ_DESC_F_NEXT */
};

/* ---- §2.7.6 driver area ("available ring"), written by the driver only */
#define VIRTQ_AVAIL_F_NO_INTERRUPT 1u

struct virtq_avail {
    uint16_t flags;
    uint16_t idx;    /* where the driver puts the next entry (mod 2^16) */
    uint16_t ring[]; /* [size], then uint16_t used_event (with EVENT_IDX) */
};

/* ---- §2.7.8 device area ("used ring"), written by the device only */
#define VIRTQ_USED_F_NO_NOTIFY 1u

struct virtq_used_elem {
    uint32_t id;  /* head of the completed chain (32-bit for padding) */
    uint32_t len; /* bytes written into the device-writable part */
};

struct virtq_used {
    uint16_t flags;
    uint16_t idx;
    struct virtq_used_elem ring[]; /* [size], then uint16_t avail_event */
};

/* §2.7 alignment requirements of the three parts. */
#define VIRTQ_DESC_ALIGN  16u
#define VIRTQ_AVAIL_ALIGN 2u
#define VIRTQ_USED_ALIGN  4u

/* Sizes of the parts of a queue of `size` entries, event fields included. */
#define VIRTQ_DESC_BYTES(size)  (16u * (uint32_t)(size))
#define VIRTQ_AVAIL_BYTES(size) (6u + 2u * (uint32_t)(size))
#define VIRTQ_USED_BYTES(size)  (6u + 8u * (uint32_t)(size))

_Static_assert(sizeof(struct virtq_desc) == 16, "virtq_desc is 16 bytes");
_Static_assert(sizeof(struct virtq_avail) == 4, "virtq_avail header is 4 bytes");
_Static_assert(sizeof(struct virtq_used_elem) == 8, "virtq_used_elem is 8 bytes");
_Static_assert(sizeof(struct virtq_used) == 4, "virtq_used header is 4 bytes");

/* ---- §4.2.2 virtio-mmio register offsets (version 2, "non-legacy") */
#define VIRTIO_MMIO_MAGIC_VALUE         0x000 /* reads 0x74726976 ("virt") */
#define VIRTIO_MMIO_VERSION             0x004 /* 2 for virtio 1.x devices */
#define VIRTIO_MMIO_DEVICE_ID           0x008 /* 0: no device here */
#define VIRTIO_MMIO_VENDOR_ID           0x00c
#define VIRTIO_MMIO_DEVICE_FEATURES     0x010
#define VIRTIO_MMIO_DEVICE_FEATURES_SEL 0x014
#define VIRTIO_MMIO_DRIVER_FEATURES     0x020
#define VIRTIO_MMIO_DRIVER_FEATURES_SEL 0x024
#define VIRTIO_MMIO_QUEUE_SEL           0x030
#define VIRTIO_MMIO_QUEUE_NUM_MAX       0x034
#define VIRTIO_MMIO_QUEUE_NUM           0x038
#define VIRTIO_MMIO_QUEUE_READY         0x044
#define VIRTIO_MMIO_QUEUE_NOTIFY        0x050
#define VIRTIO_MMIO_INTERRUPT_STATUS    0x060
#define VIRTIO_MMIO_INTERRUPT_ACK       0x064
#define VIRTIO_MMIO_STATUS              0x070
#define VIRTIO_MMIO_QUEUE_DESC_LOW      0x080
#define VIRTIO_MMIO_QUEUE_DESC_HIGH     0x084
#define VIRTIO_MMIO_QUEUE_DRIVER_LOW    0x090 /* the avail ring */
#define VIRTIO_MMIO_QUEUE_DRIVER_HIGH   0x094
#define VIRTIO_MMIO_QUEUE_DEVICE_LOW    0x0a0 /* the used ring */
#define VIRTIO_MMIO_QUEUE_DEVICE_HIGH   0x0a4
#define VIRTIO_MMIO_SHM_SEL             0x0ac
#define VIRTIO_MMIO_SHM_LEN_LOW         0x0b0
#define VIRTIO_MMIO_SHM_LEN_HIGH        0x0b4
#define VIRTIO_MMIO_SHM_BASE_LOW        0x0b8
#define VIRTIO_MMIO_SHM_BASE_HIGH       0x0bc
#define VIRTIO_MMIO_QUEUE_RESET         0x0c0
#define VIRTIO_MMIO_CONFIG_GENERATION   0x0fc
#define VIRTIO_MMIO_CONFIG              0x100 /* device-specific config space */

#define VIRTIO_MMIO_MAGIC          0x74726976u
#define VIRTIO_MMIO_VERSION_MODERN 2u

/* InterruptStatus / InterruptACK bits (§4.2.2) */
#define VIRTIO_MMIO_INT_VRING  1u /* a used buffer notification */
#define VIRTIO_MMIO_INT_CONFIG 2u /* configuration change */

/* ---- §4.1 virtio over PCI (modern: virtio 1.x, no legacy I/O BAR) */
#define VIRTIO_PCI_VENDOR           0x1af4
#define VIRTIO_PCI_DEVICE_FIRST     0x1000 /* 0x1000-0x103f: transitional */
#define VIRTIO_PCI_DEVICE_MODERN    0x1040 /* 0x1040 + virtio device id */
#define VIRTIO_PCI_DEVICE_LAST      0x107f
#define VIRTIO_PCI_TRANSITIONAL_END 0x103f

/* §4.1.4 struct virtio_pci_cap: a vendor-specific capability (id 9). */
#define VIRTIO_PCI_CAP_CFG_TYPE   3 /* byte offsets within the capability */
#define VIRTIO_PCI_CAP_BAR        4
#define VIRTIO_PCI_CAP_OFFSET     8
#define VIRTIO_PCI_CAP_LENGTH     12
#define VIRTIO_PCI_CAP_NOTIFY_MUL 16 /* notify capability only */
#define VIRTIO_PCI_CAP_LEN        16
#define VIRTIO_PCI_NOTIFY_CAP_LEN 20
#define VIRTIO_PCI_CAP_COMMON_CFG 1
#define VIRTIO_PCI_CAP_NOTIFY_CFG 2
#define VIRTIO_PCI_CAP_ISR_CFG    3
#define VIRTIO_PCI_CAP_DEVICE_CFG 4

/* §4.1.4.3 common configuration structure (offsets, widths in comments) */
#define VIRTIO_PCI_COMMON_DFSELECT  0x00 /* 32 */
#define VIRTIO_PCI_COMMON_DF        0x04 /* 32 */
#define VIRTIO_PCI_COMMON_GFSELECT  0x08 /* 32 */
#define VIRTIO_PCI_COMMON_GF        0x0c /* 32 */
#define VIRTIO_PCI_COMMON_MSIX      0x10 /* 16: config_msix_vector */
#define VIRTIO_PCI_COMMON_NUMQ      0x12 /* 16 */
#define VIRTIO_PCI_COMMON_STATUS    0x14 /* 8 */
#define VIRTIO_PCI_COMMON_CFGGEN    0x15 /* 8 */
#define VIRTIO_PCI_COMMON_Q_SELECT  0x16 /* 16 */
#define VIRTIO_PCI_COMMON_Q_SIZE    0x18 /* 16 */
#define VIRTIO_PCI_COMMON_Q_MSIX    0x1a /* 16 */
#define VIRTIO_PCI_COMMON_Q_ENABLE  0x1c /* 16 */
#define VIRTIO_PCI_COMMON_Q_NOFF    0x1e /* 16 */
#define VIRTIO_PCI_COMMON_Q_DESCLO  0x20 /* 64, as two 32-bit halves */
#define VIRTIO_PCI_COMMON_Q_DESCHI  0x24
#define VIRTIO_PCI_COMMON_Q_AVAILLO 0x28
#define VIRTIO_PCI_COMMON_Q_AVAILHI 0x2c
#define VIRTIO_PCI_COMMON_Q_USEDLO  0x30
#define VIRTIO_PCI_COMMON_Q_USEDHI  0x34
#define VIRTIO_PCI_COMMON_LEN       0x38 /* the virtio 1.0 structure */
#define VIRTIO_MSI_NO_VECTOR        0xffff

/* §4.1.4.5 ISR status bits (read to acknowledge; INTx only) */
#define VIRTIO_PCI_ISR_QUEUE  1u
#define VIRTIO_PCI_ISR_CONFIG 2u

/* ---- §5.11.4 virtio-fs device configuration layout */
#define VIRTIO_FS_TAG_LEN        36 /* UTF-8, NUL-padded, not NUL-terminated if 36 long */
#define VIRTIO_FS_F_NOTIFICATION 0

struct virtio_fs_config {
    uint8_t tag[VIRTIO_FS_TAG_LEN];
    uint32_t num_request_queues;
    uint32_t notify_buf_size; /* only with VIRTIO_FS_F_NOTIFICATION */
};
_Static_assert(sizeof(struct virtio_fs_config) == 44, "virtio_fs_config is 44 bytes");

/*
 * §5.11.2 virtqueues: 0 is hiprio (FORGET, INTERRUPT); with
 * VIRTIO_FS_F_NOTIFICATION, 1 is the notification queue and request queues
 * start at 2. Miura never negotiates notifications (QEMU and virtiofsd do not
 * offer them), so its request queues start at 1.
 */
#define VIRTIO_FS_QUEUE_HIPRIO        0
#define VIRTIO_FS_QUEUE_FIRST_REQUEST 1

/* ---- §5.10.4 virtio-vsock device configuration layout */
struct virtio_vsock_config {
    uint64_t guest_cid; /* only the low 32 bits are used */
};
_Static_assert(sizeof(struct virtio_vsock_config) == 8, "virtio_vsock_config is 8 bytes");

/* §5.10.2 virtqueues */
#define VIRTIO_VSOCK_QUEUE_RX    0
#define VIRTIO_VSOCK_QUEUE_TX    1
#define VIRTIO_VSOCK_QUEUE_EVENT 2

#endif
