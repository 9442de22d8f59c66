# SPDX-License-Identifier: BSD-2-Clause
UNIT_TESTS += launcher_probe
launcher_probe_SRCS := host/launcher/probe.c tests/unit/test_launcher_probe.c
