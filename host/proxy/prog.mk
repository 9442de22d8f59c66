# SPDX-License-Identifier: BSD-2-Clause
# miura-proxy: TCP -> guest vsock through a VMM's hybrid vsock Unix socket (docs/proxy.md).
# PROXY_LIB_SRCS is everything but main.c (the unit tests build it).
PROXY_LIB_SRCS := host/proxy/relay.c
HOSTPROGS += miura-proxy
miura-proxy_SRCS := $(PROXY_LIB_SRCS) host/proxy/main.c
miura-proxy_HOSTLIBS := hostconfine hostcommon
miura-proxy_LIBS := $(CONFINE_LIBS)
