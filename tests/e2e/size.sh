#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
# The size budgets the project promises (README, issues 11-13 and 17): the
# shipped web server image, stripped and trimmed as `make` leaves it next to
# its .elf, is at most 64 KiB (65,536 B). A size, not a time: deterministic.
SUITE=size
source "$(dirname "$0")/lib.sh"
budget() { # APP BYTES [IMAGE]
    local img=${3:-$ROOT/build/apps/$1/$1} n
    [ -n "${3:-}" ] || need_image "$1" >/dev/null
    [ -f "$img" ] || { fail "$1" "$img missing (run make)"; return; }
    n=$(stat -c %s "$img")
    if [ "$n" -le "$2" ]; then
        echo "# $1: $n of $2 B"
        pass "$1"
    else
        fail "$1" "$img is $n B, over its budget of $2 B by $((n - $2)) B"
    fi
}
budget webserver 65536
# issue 17: the key-value store, at most 80 KiB (built with the SDK by `make`)
budget kv 81920 "$ROOT/build/examples/kv/kv"
finish
