# SPDX-License-Identifier: BSD-2-Clause
# The ACPI table parser (RSDP, XSDT/RSDT, MADT, MCFG) on good and broken tables.
UNIT_TESTS += acpi_parse
acpi_parse_SRCS := $(filter %/acpi_tables.c,$(acpi_SRCS)) tests/unit/test_acpi.c
