# SPDX-License-Identifier: BSD-2-Clause
UNIT_TESTS += http
http_SRCS := apps/webserver/http.c apps/webserver/http_path.c apps/webserver/http_range.c \
	apps/webserver/http_response.c apps/webserver/httpdate.c apps/webserver/mime.c \
	tests/unit/test_http.c
