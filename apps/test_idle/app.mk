# SPDX-License-Identifier: BSD-2-Clause
# Test appliance: prints "idle start", sleeps idle=S seconds (2), prints "idle end".
APPS += test_idle
test_idle_SRCS := apps/test_idle/main.c
test_idle_COMPONENTS := sched
