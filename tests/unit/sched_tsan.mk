# SPDX-License-Identifier: BSD-2-Clause
# sched_tsan: kernel/sched/sched.c itself (unchanged) on simulated CPUs, one
# pthread each, its threads as fibers, under ThreadSanitizer; the shim is
# tests/unit/sched_host.c. Built with mm_heap_tsan.mk's TSAN_RULES.
#
# Its objects see tests/unit/sched_host/arch/x86_64/cpu.h before the
# kernel's (-iquote: interrupts, halt and MSR writes of a simulated CPU), and
# sched.c's calloc/free are counted by the shim (every one is a thread's).
SCHED_HOST_CFLAGS := -iquote tests/unit/sched_host

sched_tsan_SRCS := kernel/sched/sched.c tests/unit/sched_host.c tests/unit/test_sched_tsan.c
$(eval $(call TSAN_RULES,sched_tsan))

$(B)/tsan/kernel/sched/sched.o: SCHED_HOST_CFLAGS += -Dcalloc=sched_host_calloc -Dfree=sched_host_free
$(call tsan_obj,$(sched_tsan_SRCS)): $(B)/tsan/%.o: %.c $(B)/tsan/.flags
	$(call msg,TSANCC,$<)
	@mkdir -p $(@D)
	$(Q)$(TSANCC) $(TSAN_CFLAGS) $(SCHED_HOST_CFLAGS) -c $< -o $@
