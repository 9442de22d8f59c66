/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Whether a file is a bootable Miura image: an ELF64 x86-64 executable with a
 * PVH entry note (Xen's XEN_ELFNOTE_PHYS32_ENTRY, type 18, name "Xen"), the
 * one thing QEMU microvm's -kernel needs to boot it by PVH. Pure: the caller
 * reads the file; every offset and size in it is checked against len.
 */
#ifndef MIURA_COMMON_PVH_IMAGE_H
#define MIURA_COMMON_PVH_IMAGE_H

#include <stddef.h>
#include <stdint.h>

/*
 * The virtio transports an image links, from its "Miura" note (type 1, a
 * 32-bit mask). Images without the note link virtio-mmio only (the build
 * leaves the note out of those: see the Makefile).
 */
#define PVH_TRANSPORT_MMIO 1u
#define PVH_TRANSPORT_PCI  2u

struct pvh_image {
    uint32_t entry;      /* the 32-bit PVH entry address */
    uint64_t load_end;   /* highest physical address a PT_LOAD segment occupies (+1) */
    uint32_t transports; /* PVH_TRANSPORT_* bits */
};

/*
 * Returns 0 and fills *img, or -1 with *why set to a constant phrase
 * ("not an ELF file", "no PVH entry note", ...).
 */
int pvh_image_check(const unsigned char *buf, size_t len, struct pvh_image *img, const char **why);

/* Guest RAM the image needs at least, in MiB: its loaded span rounded up, plus 1 MiB
 * for page tables, stacks and the first heap pages; at least 2. */
uint32_t pvh_image_need_mib(const struct pvh_image *img);

#endif
