# SPDX-License-Identifier: BSD-2-Clause
# The identity range (host/common/idrange.c): $MIURA_ID_RANGE and the lines of
# /etc/subuid and /etc/subgid.
FUZZERS += subid
subid_SRCS := fuzz/subid.c $(hostcommon_SRCS)
