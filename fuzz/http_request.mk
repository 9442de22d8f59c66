# SPDX-License-Identifier: BSD-2-Clause
FUZZERS += http_request
http_request_SRCS := fuzz/http_request.c apps/webserver/http.c apps/webserver/http_path.c \
	apps/webserver/http_range.c apps/webserver/http_response.c apps/webserver/httpdate.c \
	apps/webserver/mime.c
