# SPDX-License-Identifier: BSD-2-Clause
# The VMM's floor for bench/boot: powers off at its first instruction.
APPS += floor
floor_SRCS := apps/floor/floor.S
floor_COMPONENTS :=
