# SPDX-License-Identifier: BSD-2-Clause
FUZZERS += kv_input
kv_input_SRCS := fuzz/kv_input.c examples/kv/check.c
