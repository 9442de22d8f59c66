# SPDX-License-Identifier: BSD-2-Clause
FUZZERS += http_listing
http_listing_SRCS := fuzz/http_listing.c apps/webserver/http.c apps/webserver/http_path.c \
	apps/webserver/http_range.c apps/webserver/http_response.c apps/webserver/httpdate.c \
	apps/webserver/mime.c
