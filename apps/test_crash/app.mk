# SPDX-License-Identifier: BSD-2-Clause
# Test appliance: crashes on purpose (crash=pagefault|null|divide|stack|panic).
APPS += test_crash
test_crash_SRCS := apps/test_crash/main.c
test_crash_COMPONENTS := sched
