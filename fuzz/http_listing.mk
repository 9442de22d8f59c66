# SPDX-License-Identifier: BSD-2-Clause
FUZZERS += http_listing
http_listing_SRCS := fuzz/http_listing.c $(HTTP_PURE_SRCS) $(WEBSERVER_HTTP_SRCS)
