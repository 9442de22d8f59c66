# SPDX-License-Identifier: BSD-2-Clause
# Test appliance: stays up for sleep=SECONDS (default 3600), exits with status=N.
APPS += test_sleep
test_sleep_SRCS := apps/test_sleep/main.c
test_sleep_COMPONENTS := sched
