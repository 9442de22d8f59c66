#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
# `make run`: the web server appliance on the bundled demo site, published on
# http://127.0.0.1:8080 (PORT=... to change it). Ctrl-C stops it and removes
# everything it started.
set -eu
cd "$(dirname "$0")/.."
port=${PORT:-8080}
exec build/bin/miura run --name demo --share examples/www --publish "127.0.0.1:$port:80" \
    build/apps/webserver/webserver.elf
