# SPDX-License-Identifier: BSD-2-Clause
# The HTTP component's parser, paths and responses, and the web server's file
# responses on top of them.
UNIT_TESTS += lib_http
lib_http_SRCS := $(HTTP_PURE_SRCS) $(WEBSERVER_HTTP_SRCS) tests/unit/test_http.c
