/* SPDX-License-Identifier: BSD-2-Clause */
/* PVH image check; see pvh_image.h. Field layouts from the ELF-64 object file format. */
#include "common/pvh_image.h"

#include <elf.h>
#include <string.h>

#define XEN_ELFNOTE_PHYS32_ENTRY 18
#define MIURA_NOTE_TRANSPORTS    1

/* Whether [off, off + size) lies inside a buffer of len bytes. */
static int in_bounds(uint64_t off, uint64_t size, size_t len)
{
    return off <= len && size <= len - off;
}

/* Looks for the PVH note (returns 0 if found) and the transports note among
 * the notes in buf[off, off + size). */
static int find_notes(const unsigned char *buf, uint64_t off, uint64_t size, struct pvh_image *img)
{
    int found = -1;
    uint64_t end = off + size;
    while (end - off >= 12) {
        uint32_t namesz, descsz, type;
        memcpy(&namesz, buf + off, 4);
        memcpy(&descsz, buf + off + 4, 4);
        memcpy(&type, buf + off + 8, 4);
        uint64_t name = off + 12;
        uint64_t desc = name + (((uint64_t)namesz + 3) & ~3ull);
        uint64_t next = desc + (((uint64_t)descsz + 3) & ~3ull);
        if (next > end)
            return -1; /* a note runs past its segment */
        if (type == XEN_ELFNOTE_PHYS32_ENTRY && namesz == 4 && memcmp(buf + name, "Xen", 4) == 0 &&
            descsz >= 4 && found < 0) {
            memcpy(&img->entry, buf + desc, 4);
            found = 0;
        } else if (type == MIURA_NOTE_TRANSPORTS && namesz == 6 &&
                   memcmp(buf + name, "Miura", 6) == 0 && descsz == 4) {
            memcpy(&img->transports, buf + desc, 4);
        }
        off = next;
    }
    return found;
}

int pvh_image_check(const unsigned char *buf, size_t len, struct pvh_image *img, const char **why)
{
    Elf64_Ehdr eh;
    int found_note = 0, found_load = 0;
    memset(img, 0, sizeof(*img));
    img->transports = PVH_TRANSPORT_MMIO; /* unless a note says otherwise */
    if (len < EI_NIDENT || memcmp(buf, ELFMAG, SELFMAG) != 0) {
        *why = "not an ELF file";
        return -1;
    }
    if (buf[EI_CLASS] != ELFCLASS64 || len < sizeof(eh)) {
        *why = "not a 64-bit ELF file";
        return -1;
    }
    memcpy(&eh, buf, sizeof(eh));
    if (buf[EI_DATA] != ELFDATA2LSB || eh.e_machine != EM_X86_64) {
        *why = "not an x86-64 ELF file";
        return -1;
    }
    if (eh.e_type != ET_EXEC) {
        *why = "not an executable ELF file (a Miura image is linked static, not PIE)";
        return -1;
    }
    if (eh.e_phentsize != sizeof(Elf64_Phdr) ||
        !in_bounds(eh.e_phoff, (uint64_t)eh.e_phnum * sizeof(Elf64_Phdr), len)) {
        *why = "its ELF program headers are malformed";
        return -1;
    }
    for (unsigned i = 0; i < eh.e_phnum; i++) {
        Elf64_Phdr ph;
        memcpy(&ph, buf + eh.e_phoff + (uint64_t)i * sizeof(ph), sizeof(ph));
        if (ph.p_type == PT_LOAD && ph.p_memsz > 0) {
            if (ph.p_paddr > UINT64_MAX - ph.p_memsz) {
                *why = "an ELF segment wraps around the address space";
                return -1;
            }
            if (ph.p_paddr + ph.p_memsz > img->load_end)
                img->load_end = ph.p_paddr + ph.p_memsz;
            found_load = 1;
        } else if (ph.p_type == PT_NOTE && !found_note &&
                   in_bounds(ph.p_offset, ph.p_filesz, len)) {
            found_note = find_notes(buf, ph.p_offset, ph.p_filesz, img) == 0;
        }
    }
    if (!found_note) {
        *why = "no PVH entry note (XEN_ELFNOTE_PHYS32_ENTRY): not a Miura image";
        return -1;
    }
    if (!found_load) {
        *why = "no loadable ELF segment";
        return -1;
    }
    return 0;
}

uint32_t pvh_image_need_mib(const struct pvh_image *img)
{
    uint64_t mib = (img->load_end + (1u << 20) - 1) >> 20;
    if (mib > 1024u * 1024u)
        mib = 1024u * 1024u; /* beyond any guest: the memory check refuses it */
    mib += 1;
    return mib < 2 ? 2 : (uint32_t)mib;
}
