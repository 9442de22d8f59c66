# SPDX-License-Identifier: BSD-2-Clause
# sched: the Process unit: threads, per-CPU cooperative scheduler, wait
# queues, sleep; kmain, which arch's PVH entry calls, starts it all and runs
# the init hooks and main(). Every appliance lists it.
COMPONENTS += sched
sched_SRCS := kernel/sched/start.c kernel/sched/sched.c kernel/sched/mm_port.c
sched_DEPS := arch mm lib
