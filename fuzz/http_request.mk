# SPDX-License-Identifier: BSD-2-Clause
FUZZERS += http_request
http_request_SRCS := fuzz/http_request.c $(HTTP_PURE_SRCS) $(WEBSERVER_HTTP_SRCS)
