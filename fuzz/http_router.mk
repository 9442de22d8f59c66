# SPDX-License-Identifier: BSD-2-Clause
FUZZERS += http_router
http_router_SRCS := fuzz/http_router.c $(HTTP_PURE_SRCS)
