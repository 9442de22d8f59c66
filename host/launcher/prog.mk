# SPDX-License-Identifier: BSD-2-Clause
# miura, the launcher: runs virtiofsd, miura-vsockd and QEMU for an instance
# (what it shares with miura-oci is in host/common: vm_*.c, cidlock.c, runtime_dir.c).
# LAUNCHER_LIB_SRCS is everything but main.c (the unit tests build it).
LAUNCHER_LIB_SRCS := host/launcher/run.c host/launcher/probe.c host/launcher/instance.c \
	host/launcher/stats.c host/launcher/listeners.c host/launcher/manage.c \
	host/launcher/new.c
HOSTPROGS += miura
miura_SRCS := $(LAUNCHER_LIB_SRCS) host/launcher/main.c
miura_HOSTLIBS := hostcommon
