# SPDX-License-Identifier: BSD-2-Clause
UNIT_TESTS += webserver_filecache
webserver_filecache_SRCS := apps/webserver/filecache.c tests/unit/test_webserver_filecache.c
