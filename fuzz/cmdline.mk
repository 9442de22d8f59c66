FUZZERS += cmdline
cmdline_SRCS := fuzz/cmdline.c kernel/lib/cmdline.c
