#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
# `make run`: serves examples/www with the web server appliance.
set -eu
cd "$(dirname "$0")/.."
if [ ! -f build/apps/webserver/webserver.elf ] || [ ! -x build/bin/miura ]; then
    echo "make run: not yet — the web server appliance and the miura launcher are still being built (see README.md, Status)." >&2
    echo "Meanwhile: 'make test' runs the suite; 'qemu-system-x86_64 -M microvm -nographic -kernel build/apps/hello/hello.elf' boots hello." >&2
    exit 1
fi
exec build/bin/miura run --share examples/www --publish 127.0.0.1:8080:80 build/apps/webserver/webserver.elf
