# SPDX-License-Identifier: BSD-2-Clause
# miura-proxy unit tests: the OK-line and --publish parsers; the relay over socketpairs.
UNIT_TESTS += proxy_parse proxy_relay
proxy_parse_SRCS := host/proxy/ok_line.c host/proxy/publish.c tests/unit/test_proxy_parse.c
proxy_relay_SRCS := host/proxy/ok_line.c host/proxy/relay.c tests/unit/test_proxy_relay.c
