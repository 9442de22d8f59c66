# SPDX-License-Identifier: BSD-2-Clause
FUZZERS += oci_config
oci_config_SRCS := fuzz/oci_config.c $(OCI_LIB_SRCS) $(hostcommon_SRCS)
oci_config_LIBS := -ljansson
