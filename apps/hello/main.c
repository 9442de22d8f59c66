/* SPDX-License-Identifier: BSD-2-Clause */
/* The smallest appliance: says who it is and exits 0. */
#include <stdio.h>

#include "miura/miura.h"

int main(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    uint64_t boot_ns = miura_boot_ns();
    printf("Hello from Miura!\n");
    printf("cpus: %u\n", miura_cpu_count());
    printf("memory: %llu KiB\n", (unsigned long long)(miura_mem_bytes() / 1024));
    printf("boot: %llu.%03llu us from PVH entry to main\n", (unsigned long long)(boot_ns / 1000),
           (unsigned long long)(boot_ns % 1000));
    return 0;
}
