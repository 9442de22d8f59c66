# Process unit: threads, per-CPU cooperative scheduler, wait queues, sleep.
COMPONENTS += sched
sched_SRCS := kernel/sched/sched.c kernel/sched/mm_port.c
sched_DEPS := arch mm lib
