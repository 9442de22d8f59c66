# SPDX-License-Identifier: BSD-2-Clause
FUZZERS += acpi_tables
acpi_tables_SRCS := fuzz/acpi_tables.c $(filter %/acpi_tables.c,$(acpi_SRCS))
