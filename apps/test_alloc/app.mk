# SPDX-License-Identifier: BSD-2-Clause
# Test appliance for the Memory unit: random stress, misuse reports, OOM.
APPS += test_alloc
test_alloc_SRCS := apps/test_alloc/main.c
test_alloc_COMPONENTS := sched
