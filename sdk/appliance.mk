# SPDX-License-Identifier: BSD-2-Clause
# Miura appliance build (installed as $(MIURA)/lib/miura/appliance.mk; see
# docs/appliances.md). An appliance's Makefile sets
#
#   MIURA ?= /usr/local           the prefix Miura was installed into
#   NAME  := hello                the image: $(O)/hello.elf and $(O)/hello
#   SRCS  := main.c               its C (and .S) files
#   UNITS := sched net virtio_vsock virtio_mmio http   the kernel units it uses
#
# and includes this file. Optional: O (output directory, default build),
# APP_CFLAGS (more compiler flags, e.g. -Iinclude or -DNAME=VALUE), V=1
# (show the commands).
# The image links the appliance's objects with exactly the units named and
# those they depend on, as the in-tree images do. `make` builds, `make clean`
# removes $(O), `make units` lists the units and what each depends on.
# `make linux` builds the same C files as a Linux program, $(O)/$(NAME)-linux
# (docs/appliances.md, "Test on Linux"); LINUX_CFLAGS (default -O2 -g) are
# its own flags, e.g. -fsanitize=address,undefined.
.SUFFIXES:
.DELETE_ON_ERROR:
.DEFAULT_GOAL := all
SHELL := /bin/bash
MIURA_MK := $(MIURA)/lib/miura/units.mk
ifeq ($(MIURA),)
$(error MIURA is not set: the prefix Miura was installed into (make install PREFIX=DIR in the Miura tree))
endif
ifeq ($(wildcard $(MIURA_MK)),)
$(error MIURA=$(MIURA) is not an installed Miura ($(MIURA_MK) missing): make install PREFIX=DIR in the Miura tree)
endif
include $(MIURA_MK)
O ?= build
ifeq ($(origin CC),default)
CC := gcc
endif
ifeq ($(strip $(NAME)),)
$(error NAME is not set: the appliance's name, e.g. NAME := hello)
endif
ifeq ($(strip $(SRCS)),)
$(error SRCS is not set: the appliance's source files, e.g. SRCS := main.c)
endif
MIURA_BAD_UNITS := $(filter-out $(MIURA_UNITS),$(UNITS))
ifneq ($(MIURA_BAD_UNITS),)
$(error unknown unit(s) in UNITS: $(MIURA_BAD_UNITS) (the units: $(MIURA_UNITS)))
endif
# The units are link-time-optimiser objects: only the gcc that made them reads them.
MIURA_CC_VERSION := $(shell $(CC) -dumpfullversion 2>/dev/null)
ifneq ($(MIURA_CC_VERSION),$(MIURA_GCC_VERSION))
$(error $(CC) is version '$(MIURA_CC_VERSION)', but this Miura's units were built by gcc $(MIURA_GCC_VERSION): use that gcc (CC=...) or rebuild Miura with this one)
endif

# The transitive closure of UNITS (depth-bounded; 6 is plenty).
miura_step = $(sort $(1) $(foreach u,$(1),$(MIURA_UNIT_$(u)_DEPS)))
MIURA_ALL_UNITS := $(call miura_step,$(call miura_step,$(call miura_step,$(call miura_step,$(call miura_step,$(call miura_step,$(UNITS)))))))
MIURA_TRANSPORTS := $(sort $(foreach u,$(MIURA_ALL_UNITS),$(MIURA_UNIT_$(u)_TRANSPORT)))
APP_OBJS := $(patsubst %,$(O)/obj/%.o,$(basename $(SRCS)))
# The ELF note naming the image's virtio transports (mmio 1, pci 2), which
# `miura run` reads to match --machine; an image with only virtio-mmio has none.
miura_comma := ,
MIURA_NOTE := $(if $(filter-out mmio,$(MIURA_TRANSPORTS)),$(O)/obj/transports.o,$(if $(MIURA_TRANSPORTS),,$(O)/obj/transports.o))
MIURA_OBJS := $(APP_OBJS) $(sort $(foreach u,$(MIURA_ALL_UNITS),$(MIURA_UNIT_$(u)_OBJS))) $(MIURA_NOTE)
ifeq ($(V),1)
Q :=
msg =
else
Q := @
msg = @printf '  %-8s %s\n' '$(1)' '$(2)';
endif
MIURA_ASFLAGS := $(filter-out -std=c11 -flto -flto-partition=one,$(MIURA_CFLAGS)) -D__ASSEMBLY__

.PHONY: all clean units linux FORCE
all: $(O)/$(NAME)

$(O)/obj/%.o: %.c $(O)/obj/flags
	$(call msg,CC,$<)
	@mkdir -p $(@D)
	$(Q)$(CC) $(MIURA_CFLAGS) $(APP_CFLAGS) -MMD -MP -c $< -o $@
$(O)/obj/%.o: %.S $(O)/obj/flags
	$(call msg,AS,$<)
	@mkdir -p $(@D)
	$(Q)$(CC) $(MIURA_ASFLAGS) $(APP_CFLAGS) -MMD -MP -c $< -o $@
# Flags, objects and transports as stamps: a change rebuilds what used them.
$(O)/obj/flags: FORCE
	@mkdir -p $(@D); echo '$(MIURA_CFLAGS) $(APP_CFLAGS) $(MIURA_OBJS)' | cmp -s - $@ || echo '$(MIURA_CFLAGS) $(APP_CFLAGS) $(MIURA_OBJS)' >$@
$(O)/obj/transports.S: $(O)/obj/flags
	@echo '.section .note.miura$(miura_comma) "a"; .balign 4; .long 6$(miura_comma) 4$(miura_comma) 1; .asciz "Miura"; .balign 4; .long $(words $(filter mmio,$(MIURA_TRANSPORTS)) $(filter pci,$(MIURA_TRANSPORTS)) $(filter pci,$(MIURA_TRANSPORTS)))' >$@
$(O)/obj/transports.o: $(O)/obj/transports.S
	$(Q)$(CC) $(MIURA_ASFLAGS) -c $< -o $@
$(O)/$(NAME).elf: $(MIURA_OBJS) $(O)/obj/flags $(MIURA)/lib/miura/link.ld
	$(call msg,LD,$@)
	$(Q)$(CC) $(MIURA_LDFLAGS) -o $@ $(MIURA_OBJS)
# The shipped image: stripped, without section headers; NAME.elf keeps the
# symbols for gdb and crash reports.
$(O)/$(NAME): $(O)/$(NAME).elf
	$(Q)strip -o $@.full $< && sh $(MIURA)/lib/miura/tools/trim-elf.sh $@.full $@ && rm -f $@.full
	@echo "$(NAME): $@ $$(stat -c %s $@) B (units: $(MIURA_ALL_UNITS))"

# ---- the Linux build: the appliance's C files, the Linux sources of its
# units (MIURA_UNIT_u_LINUX_SRCS: the HTTP component) and those that stand in
# for the kernel (MIURA_LINUX_SRCS, lib/miura/src/sdk/linux), with the host's
# gcc and glibc. The linker binds the appliance's main and the libc calls
# below to sdk/linux's __wrap_ functions (linux.h).
LINUX_CFLAGS ?= -O2 -g
MIURA_LINUX_WRAP := main open creat stat lstat mkdir rename unlink rmdir statvfs opendir read write \
	pread pwrite fsync fdatasync ftruncate fstat readdir accept accept4 connect send recv poll \
	sendfile socket
MIURA_LINUX_CFLAGS := -std=c11 -D_GNU_SOURCE -U_FORTIFY_SOURCE -DMIURA_LINUX=1 -pthread \
	-Wall -Wextra -Werror -I$(MIURA)/lib/miura/include $(APP_CFLAGS) $(LINUX_CFLAGS)
MIURA_LINUX_SDK_SRCS := $(MIURA_LINUX_SRCS) $(foreach u,$(MIURA_ALL_UNITS),$(MIURA_UNIT_$(u)_LINUX_SRCS))
LINUX_OBJS := $(patsubst %,$(O)/linux/obj/%.o,$(basename $(filter %.c,$(SRCS)))) \
	$(patsubst $(MIURA)/lib/miura/src/%.c,$(O)/linux/sdk/%.o,$(MIURA_LINUX_SDK_SRCS))
linux: $(O)/$(NAME)-linux
$(O)/linux/flags: FORCE
	@mkdir -p $(@D); echo '$(MIURA_LINUX_CFLAGS) $(LINUX_OBJS)' | cmp -s - $@ || echo '$(MIURA_LINUX_CFLAGS) $(LINUX_OBJS)' >$@
$(O)/linux/obj/%.o: %.c $(O)/linux/flags
	$(call msg,CC,$< (linux))
	@mkdir -p $(@D)
	$(Q)$(CC) $(MIURA_LINUX_CFLAGS) -MMD -MP -c $< -o $@
$(O)/linux/sdk/%.o: $(MIURA)/lib/miura/src/%.c $(O)/linux/flags
	@mkdir -p $(@D)
	$(Q)$(CC) $(MIURA_LINUX_CFLAGS) -I$(MIURA)/lib/miura/src/kernel -I$(MIURA)/lib/miura/src/host \
		-MMD -MP -c $< -o $@
$(O)/$(NAME)-linux: $(LINUX_OBJS) $(O)/linux/flags
	$(call msg,LD,$@)
	$(Q)$(CC) $(MIURA_LINUX_CFLAGS) -o $@ $(LINUX_OBJS) $(foreach f,$(MIURA_LINUX_WRAP),-Wl,--wrap=$(f))
	@echo "$(NAME): $@, the Linux build (units from glibc and the SDK: $(MIURA_ALL_UNITS))"

clean:
	rm -rf $(O)
units:
	@$(foreach u,$(MIURA_UNITS),echo '$(u): $(or $(MIURA_UNIT_$(u)_DEPS),-)';)
-include $(APP_OBJS:.o=.d) $(LINUX_OBJS:.o=.d)
