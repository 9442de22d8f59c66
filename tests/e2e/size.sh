#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
# The size budgets the project promises (README, issues 11-13 and 17): the
# shipped web server image, stripped and trimmed as `make` leaves it next to
# its .elf, is at most 64 KiB (65,536 B). A size, not a time: deterministic.
SUITE=size
source "$(dirname "$0")/lib.sh"
budget() { # APP BYTES
    local img=$ROOT/build/apps/$1/$1 n
    need_image "$1" >/dev/null
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
budget kv 81920 # issue 17: the key-value store, at most 80 KiB
finish
