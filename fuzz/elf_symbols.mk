# SPDX-License-Identifier: BSD-2-Clause
# The crash symboliser: an ELF's symbol table and the console filter
# (host/common/symbolize.c, behind `miura symbolize`, `miura logs` and the
# launcher's console).
FUZZERS += elf_symbols
elf_symbols_SRCS := fuzz/elf_symbols.c $(hostcommon_SRCS)
