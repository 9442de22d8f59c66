# SPDX-License-Identifier: BSD-2-Clause
# The host library: code miura, miura-vsockd and miura-proxy share (numbers,
# --publish and listeners, the hybrid vsock port lines, the accept gate, the
# control socket, logging, the epoll registry), and what miura and miura-oci
# share to run an instance (vm_*.c: its command lines, processes, programs and
# values; cidlock.c; runtime_dir.c).
# Archived once into build/host/libhostcommon.a; a program links it with
# <prog>_HOSTLIBS := hostcommon, tests and fuzz targets compile its sources.
HOSTLIBS += hostcommon
hostcommon_SRCS := host/common/clock.c host/common/control.c host/common/gate.c \
	host/common/log.c host/common/loop.c host/common/number.c host/common/options.c \
	host/common/port_line.c host/common/publish.c \
	host/common/vm_args.c host/common/vm_plan.c host/common/vm_parts.c host/common/vm_programs.c \
	host/common/cidlock.c host/common/idrange.c host/common/vm_identity.c host/common/vm_view.c host/common/cgroup.c \
	host/common/runtime_dir.c host/common/pvh_image.c host/common/symbolize.c
# Self-confinement (seccomp through libseccomp, namespaces, identity, limits):
# a library of its own, so that only the programs that confine themselves
# (and their tests) link libseccomp.
HOSTLIBS += hostconfine
hostconfine_SRCS := host/common/confine.c
CONFINE_LIBS := -lseccomp
