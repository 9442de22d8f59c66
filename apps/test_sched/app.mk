# SPDX-License-Identifier: BSD-2-Clause
# Test appliance for the Process unit: order of threads, join, sleep, wait queues.
APPS += test_sched
test_sched_SRCS := apps/test_sched/main.c
test_sched_COMPONENTS := sched
