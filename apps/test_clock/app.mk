# Test appliance: the clock read in a loop while the reference disciplines it.
APPS += test_clock
test_clock_SRCS := apps/test_clock/main.c
test_clock_COMPONENTS := sched
