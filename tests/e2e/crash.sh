#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
# Faults produce a crash report and a failure status, never a hang.
SUITE=crash
source "$(dirname "$0")/lib.sh"
img=$(need_image test_crash)
CRASH_STATUS=100

check() { # kind, report pattern, function expected in the backtrace
    local out=$OUTDIR/crash-$1.log
    boot_image "$img" "$out" "crash=$1" 60
    expect_status "$1/status" $CRASH_STATUS
    expect_grep "$1/report" "$out" "$2"
    # panic() is not a CPU exception: no trap frame, so no register dump.
    [ "$1" = panic ] || expect_grep "$1/registers" "$out" '^ +RAX [0-9a-f]{16} RBX [0-9a-f]{16}'
    expect_grep "$1/backtrace" "$out" "#[0-9]+ 0x[0-9a-f]+ $3(\.[a-z0-9.]+)?\+0x"
    # The caller too, except in the overflow, where 32 frames of recursion fill the trace.
    [ "$1" = stack ] || expect_grep "$1/backtrace-caller" "$out" '(#[1-9][0-9]*|called from) 0x[0-9a-f]+ main\+0x'
}

check pagefault 'CRASH: page fault \(vector 14.*|CR2\) 0x0*dead0000: page not present on write' crash_pagefault
check null 'NULL pointer dereference' crash_null
check divide 'CRASH: divide error \(vector 0,' crash_divide
check stack 'a guard page hit means a stack overflow' crash_recurse
check panic 'panic: on purpose' main

# The in-image symbol table names known functions right (not a crash).
out=$OUTDIR/crash-symbols.log
boot_image "$img" "$out" "crash=symbols" 60
expect_status symbols/status 0
expect_grep symbols/all-named-right "$out" '^symbols: 10 of 10 named right$'

# The shipped image (stripped, section headers dropped by tools/trim-elf.sh)
# boots from its program headers alone and still names its functions.
shipped=${img%.elf}
out=$OUTDIR/crash-shipped.log
if [ -f "$shipped" ] && LC_ALL=C readelf -hW "$shipped" | grep -qE 'Number of section headers: +0$'; then
    pass shipped/no-section-headers
else
    fail shipped/no-section-headers "$shipped missing or still has section headers"
fi
boot_image "$shipped" "$out" "crash=symbols" 60
expect_status shipped/status 0
expect_grep shipped/all-named-right "$out" '^symbols: 10 of 10 named right$'
finish
