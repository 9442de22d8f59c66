# SPDX-License-Identifier: BSD-2-Clause
#
# Miura build. `make` builds every appliance and host program, `make test`
# runs the whole suite, `make run` serves the demo site.
#
# Components: every kernel unit or driver has a `component.mk` that adds its
# name to COMPONENTS and sets <name>_SRCS and <name>_DEPS. An appliance's
# `app.mk` adds its name to APPS and sets <app>_SRCS and <app>_COMPONENTS; the
# image links exactly the transitive closure of those components.
# Host libraries (`host/*/lib.mk`: HOSTLIBS, <lib>_SRCS, archived once), host
# programs (`host/*/prog.mk`: <prog>_SRCS, and <prog>_HOSTLIBS for the
# libraries they link), unit tests (`tests/unit/*.mk`) and fuzz targets
# (`fuzz/*.mk`) register the same way, so adding one never edits this file.

.SUFFIXES:
.DEFAULT_GOAL := all
.DELETE_ON_ERROR:

B := build
V ?= 0
ifeq ($(V),1)
Q :=
msg =
else
Q := @
msg = @printf '  %-8s %s\n' '$(1)' '$(2)';
endif

# ---- guest toolchain: freestanding C11, no SSE, frame pointers for backtraces.
# Link-time optimisation: the image is linked by gcc from GIMPLE objects, which
# lets it inline and drop code across units (about 6 KiB off the web server).
# Size flags (bytes off the web server image, measured one by one):
# -fno-jump-tables (416: a switch's table is 8 B per case in .rodata),
# -malign-data=abi (136: no 32-byte alignment of arrays for SSE, which the guest
# does not use), -mpreferred-stack-boundary=3 (128: 8-byte stack alignment, as
# Linux builds its kernel; no SSE state is ever spilled), -fno-shrink-wrap (224:
# every function sets up its frame on entry, which also keeps the frame-pointer
# backtrace whole on early-exit paths), -fipa-pta (120 after the zero-copy
# work: points-to analysis across the whole image drops dead loads and stores),
# -fno-tree-loop-distribute-patterns (288: kernel/lib/string.c needs it, and
# when every file has it the options match, so LTO inlines the one-instruction
# memcpy/memset (rep movsb/stosb) and the small string functions into their
# callers), -fno-partial-inlining (80: no split-off copies of function heads),
# -fno-tree-tail-merge (80 in session 10: gcc's GIMPLE tail merging leaves
# larger code at -Oz than the RTL cross-jumping that still runs; hello −16,
# webserver_pci −64),
# -fno-expensive-optimizations -fno-move-loop-invariants (512 in session 12:
# gcc's extra CSE and register-allocation passes and the hoisting of loop
# invariants grow -Oz code; the guest CPU per 1 KiB request was the same
# with and without them, bench numbers in docs/benchmarks.md),
# -Oz instead of -Os (1,072: gcc 12's size level, e.g. small constants loaded
# with push/pop; the host-compiled HTTP parse, date and path code under
# callgrind runs 0.24% more instructions with it than with -Os). Per-file -Oz
# for cold code only saves nothing: LTO then declines to inline across the
# two levels.
GUEST_SIZE_FLAGS := -fno-jump-tables -malign-data=abi -mpreferred-stack-boundary=3 -fno-shrink-wrap -fipa-pta \
	-fno-tree-loop-distribute-patterns -fno-partial-inlining -fno-tree-tail-merge \
	-fno-expensive-optimizations -fno-move-loop-invariants
CC       := gcc
OBJCOPY  := objcopy
STRIP    := strip
GCC_INC  := $(shell $(CC) -print-file-name=include)
GUEST_CFLAGS := -std=c11 -Oz -g -ffreestanding -nostdinc -isystem $(GCC_INC) \
	-Iinclude/libc -Iinclude -Ikernel -m64 -mgeneral-regs-only -mno-red-zone \
	-mcmodel=small -fno-pie -fno-pic -fno-stack-protector -fno-omit-frame-pointer -mno-omit-leaf-frame-pointer \
	-fno-asynchronous-unwind-tables -fno-unwind-tables -ffunction-sections \
	-fdata-sections -fno-common -Wall -Wextra -Werror -MMD -MP -DMIURA_GUEST=1 \
	-flto -flto-partition=one $(GUEST_SIZE_FLAGS)
GUEST_ASFLAGS := $(filter-out -std=c11 -flto -flto-partition=one,$(GUEST_CFLAGS)) -D__ASSEMBLY__
GUEST_LDFLAGS := $(filter-out -MMD -MP,$(GUEST_CFLAGS)) -nostdlib -static -no-pie \
	-Wl,--gc-sections,-n,-z,noexecstack,--no-warn-rwx-segments,--build-id=none \
	-Wl,-T,kernel/arch/x86_64/link.ld

# ---- host toolchain: programs, unit tests (with sanitizers), fuzz targets
HOSTCC       := gcc
HOST_CFLAGS  := -std=gnu11 -O2 -g -Wall -Wextra -Werror -MMD -MP -D_GNU_SOURCE \
	-Iinclude -Ihost
UNIT_CFLAGS  := -std=gnu11 -O1 -g -Wall -Wextra -Werror -MMD -MP -D_GNU_SOURCE \
	-DMIURA_HOST_TEST=1 -Iinclude -Ikernel -Ihost -Itests/unit \
	-fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all
FUZZCC       := clang
FUZZ_CFLAGS  := -std=gnu11 -O1 -g -Wall -Wextra -Werror -D_GNU_SOURCE \
	-DMIURA_HOST_TEST=1 -DMIURA_FUZZ=1 -Iinclude -Ikernel -Ihost -Itests/unit \
	-fsanitize=fuzzer,address,undefined

COMPONENTS :=
APPS       :=
HOSTLIBS   :=
HOSTPROGS  :=
UNIT_TESTS :=
FUZZERS    :=
include $(sort $(wildcard kernel/*/component.mk kernel/*/*/component.mk kernel/*/*/*/component.mk lib/*/component.mk))
include $(sort $(wildcard apps/*/app.mk))
include $(sort $(wildcard host/*/lib.mk))
include $(sort $(wildcard host/*/prog.mk))
include $(sort $(wildcard tests/unit/*.mk))
include $(sort $(wildcard fuzz/*.mk))

# Transitive closure of component dependencies (depth-bounded; 6 is plenty).
deps_step = $(sort $(1) $(foreach c,$(1),$($(c)_DEPS)))
deps_of   = $(call deps_step,$(call deps_step,$(call deps_step,$(call deps_step,$(call deps_step,$(call deps_step,$(1)))))))

guest_obj = $(patsubst %,$(B)/guest/%.o,$(basename $(1)))
host_obj  = $(patsubst %,$(B)/host/%.o,$(basename $(1)))
unit_obj  = $(patsubst %,$(B)/unit/%.o,$(basename $(1)))

# Objects depend on their flags: a changed flag list rebuilds them.
.PHONY: FORCE
flags_stamp = @mkdir -p $(@D); echo '$(1)' | cmp -s - $@ || echo '$(1)' > $@
$(B)/guest/.flags: FORCE
	$(call flags_stamp,$(GUEST_CFLAGS) $(GUEST_LDFLAGS))
$(B)/host/.flags: FORCE
	$(call flags_stamp,$(HOST_CFLAGS))
$(B)/unit/.flags: FORCE
	$(call flags_stamp,$(UNIT_CFLAGS))

$(B)/guest/%.o: %.c $(B)/guest/.flags
	$(call msg,CC,$<)
	@mkdir -p $(@D)
	$(Q)$(CC) $(GUEST_CFLAGS) -c $< -o $@

$(B)/guest/%.o: %.S $(B)/guest/.flags
	$(call msg,AS,$<)
	@mkdir -p $(@D)
	$(Q)$(CC) $(GUEST_ASFLAGS) -c $< -o $@

$(B)/host/%.o: %.c $(B)/host/.flags
	$(call msg,HOSTCC,$<)
	@mkdir -p $(@D)
	$(Q)$(HOSTCC) $(HOST_CFLAGS) -c $< -o $@

$(B)/unit/%.o: %.c $(B)/unit/.flags
	$(call msg,UNITCC,$<)
	@mkdir -p $(@D)
	$(Q)$(HOSTCC) $(UNIT_CFLAGS) -c $< -o $@

# ---- appliances: the unstripped APP.elf stays next to the shipped image APP:
# the host names a crash report's addresses from its symbol table (miura
# symbolize, docs/debugging.md); the image carries no names. The stripped
# image also drops its section headers (tools/trim-elf.sh): only the program
# headers are loaded.
#
# An image names its virtio transports (the <component>_TRANSPORT of its
# components: mmio 1, pci 2) in an ELF note, name "Miura", type 1, a 32-bit
# mask, which the launcher reads to match --machine. Images whose only
# transport is virtio-mmio carry no note (a missing note means mmio only), so
# the default web server keeps its size.
comma := ,
transport_bits = $(words $(filter mmio,$(1)) $(filter pci,$(1)) $(filter pci,$(1)))
define APP_RULES
$(1)_ALLCOMP := $$(call deps_of,$$($(1)_COMPONENTS))
$(1)_TRANSPORTS := $$(sort $$(foreach c,$$($(1)_ALLCOMP),$$($$(c)_TRANSPORT)))
$(1)_NOTE    := $$(if $$(filter-out mmio,$$($(1)_TRANSPORTS)),y,$$(if $$($(1)_TRANSPORTS),,y))
$(1)_NOTE    := $$(if $$($(1)_NOTE),$(B)/apps/$(1)/transports.o)
$(1)_OBJS    := $$(sort $$(call guest_obj,$$($(1)_SRCS) $$(foreach c,$$($(1)_ALLCOMP),$$($$(c)_SRCS)))) $$($(1)_NOTE)
$(B)/apps/$(1)/transports.S: FORCE
	$$(call flags_stamp,.section .note.miura$$(comma) "a"; .balign 4; .long 6$$(comma) 4$$(comma) 1; \
		.asciz "Miura"; .balign 4; .long $$(call transport_bits,$$($(1)_TRANSPORTS)))
$(B)/apps/$(1)/transports.o: $(B)/apps/$(1)/transports.S
	$$(Q)$$(CC) $$(GUEST_ASFLAGS) -c $$< -o $$@
# The object list as a stamp: an image whose list changed is linked again.
$(B)/apps/$(1)/objs.list: FORCE
	$$(call flags_stamp,$$($(1)_OBJS))
$(B)/apps/$(1)/$(1).elf: $$($(1)_OBJS) $(B)/apps/$(1)/objs.list kernel/arch/x86_64/link.ld
	$$(call msg,LD,$$@)
	@mkdir -p $$(@D)
	$$(Q)$$(CC) $$(GUEST_LDFLAGS) -o $$@ $$($(1)_OBJS)
$(B)/apps/$(1)/$(1): $(B)/apps/$(1)/$(1).elf tools/trim-elf.sh
	$$(call msg,STRIP,$$@)
	$$(Q)$$(STRIP) -o $$@.full $$< && sh tools/trim-elf.sh $$@.full $$@ && rm -f $$@.full
-include $$($(1)_OBJS:.o=.d)
endef
SHELL := /bin/bash
$(foreach a,$(APPS),$(eval $(call APP_RULES,$(a))))
APP_IMAGES := $(foreach a,$(APPS),$(B)/apps/$(a)/$(a))

# ---- host libraries and programs
define HOSTLIB_RULES
$(1)_OBJS := $$(call host_obj,$$($(1)_SRCS))
$(B)/host/lib$(1).a: $$($(1)_OBJS)
	$$(call msg,AR,$$@)
	$$(Q)rm -f $$@ && ar rcs $$@ $$($(1)_OBJS)
-include $$($(1)_OBJS:.o=.d)
endef
$(foreach l,$(HOSTLIBS),$(eval $(call HOSTLIB_RULES,$(l))))

define PROG_RULES
$(1)_OBJS := $$(call host_obj,$$($(1)_SRCS))
$(1)_ARCHIVES := $$(foreach l,$$($(1)_HOSTLIBS),$(B)/host/lib$$(l).a)
$(B)/bin/$(1): $$($(1)_OBJS) $$($(1)_ARCHIVES)
	$$(call msg,HOSTLD,$$@)
	@mkdir -p $$(@D)
	$$(Q)$$(HOSTCC) -o $$@ $$($(1)_OBJS) $$($(1)_ARCHIVES) $$($(1)_LIBS)
-include $$($(1)_OBJS:.o=.d)
endef
$(foreach p,$(HOSTPROGS),$(eval $(call PROG_RULES,$(p))))
HOST_BINS := $(foreach p,$(HOSTPROGS),$(B)/bin/$(p))

# ---- unit tests
define UNIT_RULES
$(1)_OBJS := $$(call unit_obj,$$($(1)_SRCS) tests/unit/test_main.c)
$(B)/unit/bin/$(1): $$($(1)_OBJS)
	$$(call msg,UNITLD,$$@)
	@mkdir -p $$(@D)
	$$(Q)$$(HOSTCC) $$(UNIT_CFLAGS) -o $$@ $$($(1)_OBJS) $$($(1)_LIBS)
-include $$($(1)_OBJS:.o=.d)
endef
$(foreach t,$(sort $(UNIT_TESTS)),$(eval $(call UNIT_RULES,$(t))))
UNIT_BINS := $(foreach t,$(sort $(UNIT_TESTS)),$(B)/unit/bin/$(t))

# ---- fuzz targets (clang + libFuzzer)
define FUZZ_RULES
$(B)/fuzz/$(1): $$($(1)_SRCS)
	$$(call msg,FUZZCC,$$@)
	@mkdir -p $$(@D)
	$$(Q)$$(FUZZCC) $$(FUZZ_CFLAGS) -o $$@ $$($(1)_SRCS) $$($(1)_LIBS)
endef
$(foreach f,$(FUZZERS),$(eval $(call FUZZ_RULES,$(f))))
FUZZ_BINS := $(foreach f,$(FUZZERS),$(B)/fuzz/$(f))

# ---- the appliance SDK (make install PREFIX=DIR, make sdk) and the examples
# built with it out of this tree's rules (sdk/sdk.mk, docs/appliances.md)
include sdk/sdk.mk

.PHONY: all apps host unit fuzz fuzz-long test run bench format format-check clean deps
all: apps host examples
apps: $(APP_IMAGES)
host: $(HOST_BINS)
unit: $(UNIT_BINS)
fuzz: $(FUZZ_BINS)

# Installs missing tools (or says what is missing), builds, runs every test.
test: deps
	$(Q)$(MAKE) --no-print-directory all unit fuzz
	$(Q)bash tests/run.sh

deps:
	$(Q)bash tools/deps.sh test

run: deps
	$(Q)bash tools/deps.sh run
	$(Q)$(MAKE) --no-print-directory all
	$(Q)bash tools/run-demo.sh

bench: all
	$(Q)bash bench/run.sh

# Every fuzz target FUZZ_S seconds (default 3600), FUZZ_JOBS at a time; the
# inputs that add coverage are merged into fuzz/corpus/<target>/ (docs/testing.md).
fuzz-long: fuzz
	$(Q)FUZZ_S=$(or $(FUZZ_S),3600) FUZZ_JOBS=$(or $(FUZZ_JOBS),1) bash tools/fuzz-long.sh

FORMAT_FILES = $(shell git ls-files '*.c' '*.h')
format:
	$(Q)clang-format -i $(FORMAT_FILES)
format-check:
	$(Q)clang-format --dry-run --Werror $(FORMAT_FILES)

clean:
	rm -rf $(B)
