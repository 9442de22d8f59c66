# SPDX-License-Identifier: BSD-2-Clause
# miura-oci: an OCI runtime (runc's command line) for Miura appliances (docs/containers.md).
OCI_LIB_SRCS := host/oci/spec.c host/oci/vmconfig.c
HOSTPROGS += miura-oci
miura-oci_SRCS := host/oci/main.c host/oci/create.c host/oci/supervise.c host/oci/cgroup.c host/oci/enter.c \
	host/oci/state.c host/oci/oci_log.c $(OCI_LIB_SRCS)
miura-oci_HOSTLIBS := hostcommon
miura-oci_LIBS := -ljansson
