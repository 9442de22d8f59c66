# SPDX-License-Identifier: BSD-2-Clause
APPS += hello
hello_SRCS := apps/hello/main.c
hello_COMPONENTS := sched
