# SPDX-License-Identifier: BSD-2-Clause
# miura, the launcher: runs virtiofsd, miura-vsockd and QEMU for an instance.
HOSTPROGS += miura
miura_SRCS := host/launcher/main.c host/launcher/run.c host/launcher/plan.c \
	host/launcher/args.c host/launcher/probe.c host/launcher/cidlock.c host/launcher/instance.c
