# SPDX-License-Identifier: BSD-2-Clause
# (Not "oci_config": that is the fuzz target's name, and both share <name>_SRCS.)
UNIT_TESTS += oci_parse
oci_parse_SRCS := $(OCI_LIB_SRCS) $(hostcommon_SRCS) tests/unit/test_oci_parse.c
oci_parse_LIBS := -ljansson
