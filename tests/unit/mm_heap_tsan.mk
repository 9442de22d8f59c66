# SPDX-License-Identifier: BSD-2-Clause
# mm_heap_tsan: the heap's remote frees, the page allocator and lib/inbox.h on
# real pthreads (one per CPU) under ThreadSanitizer.
#
# TSan cannot be combined with the ASan/UBSan build of the other unit tests, so
# this test has its own rules: clang -fsanitize=thread -O1 -g, objects under
# build/tsan/. The binary sits with the others in build/unit/bin (tests/run.sh
# runs it), and `make unit` also runs it once (a few seconds): the rule fails
# when a case fails or TSan reports anything (halt_on_error, exit status 66;
# the binary sets the same defaults itself, so a bare run fails the same way).
#
# TSAN_RULES(name) builds build/unit/bin/<name> from <name>_SRCS; a later
# fragment (sorted after this one) may call it for another threaded test.
TSANCC      := clang
TSAN_CFLAGS := $(filter-out -fsanitize=% -fno-sanitize-recover=%,$(UNIT_CFLAGS)) \
	-fsanitize=thread -fno-omit-frame-pointer
TSAN_RUN    := TSAN_OPTIONS='halt_on_error=1 exitcode=66'

tsan_obj = $(patsubst %,$(B)/tsan/%.o,$(basename $(1)))

$(B)/tsan/.flags: FORCE
	$(call flags_stamp,$(TSAN_CFLAGS))

$(B)/tsan/%.o: %.c $(B)/tsan/.flags
	$(call msg,TSANCC,$<)
	@mkdir -p $(@D)
	$(Q)$(TSANCC) $(TSAN_CFLAGS) -c $< -o $@

define TSAN_RULES
$(1)_OBJS := $$(call tsan_obj,$$($(1)_SRCS) tests/unit/test_main.c)
$(B)/unit/bin/$(1): $$($(1)_OBJS)
	$$(call msg,TSANLD,$$@)
	@mkdir -p $$(@D)
	$$(Q)$$(TSANCC) $$(TSAN_CFLAGS) -o $$@ $$($(1)_OBJS) $$($(1)_LIBS)
$(B)/unit/$(1).ok: $(B)/unit/bin/$(1)
	$$(call msg,TSAN,$$<)
	$$(Q)rm -f $$@; $$(TSAN_RUN) $$< > $(B)/unit/$(1).log 2>&1 || \
		{ tail -n 40 $(B)/unit/$(1).log; echo "$$<: failed (log: $(B)/unit/$(1).log)"; exit 1; }
	$$(Q)touch $$@
unit: $(B)/unit/bin/$(1) $(B)/unit/$(1).ok
-include $$($(1)_OBJS:.o=.d)
endef

mm_heap_tsan_SRCS := $(mm_SRCS) tests/unit/mm_shim.c tests/unit/test_mm_heap_tsan.c
$(eval $(call TSAN_RULES,mm_heap_tsan))
