# SPDX-License-Identifier: BSD-2-Clause
# The HTTP component's router, request fields, query parameters and bodies.
UNIT_TESTS += lib_http_router
lib_http_router_SRCS := $(HTTP_PURE_SRCS) tests/unit/test_http_router.c
