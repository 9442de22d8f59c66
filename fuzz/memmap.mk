FUZZERS += memmap
memmap_SRCS := fuzz/memmap.c kernel/arch/x86_64/memmap.c
