# SPDX-License-Identifier: BSD-2-Clause
# miura-proxy: TCP -> guest vsock through a VMM's hybrid vsock Unix socket (docs/proxy.md).
PROXY_LIB_SRCS := host/proxy/ok_line.c host/proxy/relay.c host/proxy/publish.c
HOSTPROGS += miura-proxy
miura-proxy_SRCS := $(PROXY_LIB_SRCS) host/proxy/main.c
