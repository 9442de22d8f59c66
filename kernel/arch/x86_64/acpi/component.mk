# SPDX-License-Identifier: BSD-2-Clause
# acpi: reads the ACPI tables (XSDT/RSDT, MADT, MCFG) the VMM provides:
# CPUs, IOAPICs and interrupt overrides for arch, ECAM for PCI.
COMPONENTS += acpi
acpi_SRCS := kernel/arch/x86_64/acpi/acpi_tables.c kernel/arch/x86_64/acpi/acpi.c
acpi_DEPS := arch lib mm
