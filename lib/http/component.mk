# SPDX-License-Identifier: BSD-2-Clause
# http: HTTP/1.1 for appliances (include/miura/http.h): the request parser,
# paths, responses, the router and the connection loop. An appliance that
# lists it serves connections, so it depends on the socket layer (net); the
# transport under net (virtio_vsock) is the appliance's to list.
COMPONENTS += http
# HTTP_PURE_SRCS: the files without I/O, which host tests and fuzzers build.
HTTP_PURE_SRCS := lib/http/parse.c lib/http/path.c lib/http/date.c lib/http/response.c \
	lib/http/router.c
http_SRCS := $(HTTP_PURE_SRCS) lib/http/exchange.c lib/http/server.c
http_DEPS := net sched lib mm
# All of it builds for Linux as it is: the SDK's Linux build of an appliance
# compiles these (sdk/sdk.mk; glibc and sdk/linux stand in for net and sched).
http_HOST_SRCS := $(http_SRCS)
