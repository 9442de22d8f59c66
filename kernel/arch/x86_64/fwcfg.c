/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * CPU count. Without ACPI (microvm runs with acpi=off) there is no MADT; QEMU's
 * fw_cfg (I/O ports 0x510/0x511) reports the boot CPU count. Other VMMs
 * without fw_cfg get 1, which is also what the scheduler uses today.
 */
#include "arch/x86_64/arch.h"
#include "miura/miura.h"

#define FW_CFG_SELECTOR  0x510
#define FW_CFG_DATA      0x511
#define FW_CFG_SIGNATURE 0x0000
#define FW_CFG_NB_CPUS   0x0005

static unsigned cpu_count;

static void fw_cfg_read(uint16_t key, void *buf, unsigned len)
{
    outw(FW_CFG_SELECTOR, key);
    for (unsigned i = 0; i < len; i++)
        ((uint8_t *)buf)[i] = inb(FW_CFG_DATA);
}

unsigned platform_cpu_count(void)
{
    if (cpu_count)
        return cpu_count;
    char sig[4];
    uint16_t n = 0;
    fw_cfg_read(FW_CFG_SIGNATURE, sig, sizeof(sig));
    if (sig[0] == 'Q' && sig[1] == 'E' && sig[2] == 'M' && sig[3] == 'U')
        fw_cfg_read(FW_CFG_NB_CPUS, &n, sizeof(n));
    cpu_count = n ? n : 1;
    if (cpu_count > MIURA_MAX_CPUS)
        cpu_count = MIURA_MAX_CPUS; /* the rest are never started */
    return cpu_count;
}
