# SPDX-License-Identifier: BSD-2-Clause
# mm: the Memory unit (physical pages, per-CPU heap). Needs mm_port.h's
# functions (mm_cpu_id, mm_report, mm_lock...) from arch/sched.
COMPONENTS += mm
mm_SRCS := kernel/mm/page.c kernel/mm/heap.c
mm_DEPS := lib
