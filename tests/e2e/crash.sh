#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
# Faults produce a crash report and a failure status, never a hang. The guest
# prints raw addresses and its code's hash; `miura symbolize IMAGE.elf` names
# them on the host (the image carries no symbol table).
SUITE=crash
source "$(dirname "$0")/lib.sh"
img=$(need_image test_crash)
MIURA=$ROOT/build/bin/miura
[ -x "$MIURA" ] || { fail setup "$MIURA missing (run make)"; finish; }
CRASH_STATUS=100

# The function nm says holds ADDR (16 hex digits) and the offset: "NAME+0xOFF".
# (nm's addresses are as wide, so they compare as strings.)
nm_name() {
    local at name
    read -r at name < <(nm -n --defined-only "$img" |
        awk -v a="$1" '$2 ~ /^[tTwW]$/ && ($1 "") <= (a "") { at = $1; n = $3 } END { print at, n }')
    printf '%s+0x%x\n' "$name" $((16#$1 - 16#$at))
}

check() { # kind, report pattern, function expected in the backtrace
    local out=$OUTDIR/crash-$1.log named=$OUTDIR/crash-$1.named.log
    boot_image "$img" "$out" "crash=$1" 60
    expect_status "$1/status" $CRASH_STATUS
    expect_grep "$1/report" "$out" "$2"
    # panic() is not a CPU exception: no trap frame, so no register dump.
    if [ "$1" != panic ]; then
        local h='[0-9a-f]{16}' lines
        lines=$(grep -cE "^    (RAX $h RBX $h RCX $h RDX $h|RSI $h RDI $h RBP $h RSP $h|R8  $h R9  $h R10 $h R11 $h|R12 $h R13 $h R14 $h R15 $h)\$" "$out")
        [ "$lines" = 4 ] && pass "$1/registers" || fail "$1/registers" "$lines of the 4 register lines"
    fi
    if [ "$1" = pagefault ] || [ "$1" = divide ]; then
        # A frame-pointer kernel: the faulting function's RSP is at most its
        # stack's size below its RBP (the two read from their own frame slots).
        local rbp rsp
        rbp=$(sed -nE 's/.* RBP ([0-9a-f]{16}) .*/\1/p' "$out" | head -1)
        rsp=$(sed -nE 's/.* RSP ([0-9a-f]{16})$/\1/p' "$out" | head -1)
        [ -n "$rbp" ] && [ -n "$rsp" ] && [ $((16#$rbp - 16#$rsp)) -ge 0 ] && [ $((16#$rbp - 16#$rsp)) -lt 65536 ] &&
            pass "$1/rsp-below-rbp" || fail "$1/rsp-below-rbp" "RBP '$rbp' RSP '$rsp'"
    fi
    [ "$1" = pagefault ] && { grep -qE ' (RAX|RBX|RCX|RDX|RSI|RDI|R8 |R9 |R1[0-5]) 00000000dead0000( |$)' "$out" &&
        pass pagefault/address-in-a-register || fail pagefault/address-in-a-register "$(grep -E '^    R' "$out")"; }
    expect_grep "$1/raw-addresses" "$out" '^    backtrace \(image [0-9a-f]{8}\):$'
    grep -qE '^      #[0-9]+ 0x[0-9a-f]{16} ' "$out" && fail "$1/no-names-in-guest" "$(grep -m1 -E '#[0-9]+ 0x' "$out")" ||
        pass "$1/no-names-in-guest"
    "$MIURA" symbolize "$img" <"$out" >"$named" 2>"$named.err"
    [ $? -eq 0 ] && [ ! -s "$named.err" ] && pass "$1/symbolize" || fail "$1/symbolize" "$(cat "$named.err")"
    expect_grep "$1/backtrace" "$named" "#[0-9]+ 0x[0-9a-f]+ $3(\.[a-z0-9.]+)?\+0x"
    # The caller too, except in the overflow, where 32 frames of recursion fill the trace.
    [ "$1" = stack ] || expect_grep "$1/backtrace-caller" "$named" '(#[1-9][0-9]*|called from) 0x[0-9a-f]+ main\+0x'
    # Every frame named as nm names it (an independent reading of the symbol table).
    local wrong="" n=0 addr name
    while read -r addr name; do
        n=$((n + 1))
        [ "$(nm_name "$addr")" = "$name" ] || wrong="$wrong 0x$addr:$name/$(nm_name "$addr")"
    done < <(sed -nE 's/^ +(#[0-9]+|RIP|called from) 0x([0-9a-f]{16}) (.*)$/\2 \3/p' "$named")
    [ "$n" -gt 0 ] && [ -z "$wrong" ] && pass "$1/names-as-nm" || fail "$1/names-as-nm" "$n lines;$wrong"
}

check pagefault 'CRASH: page fault \(vector 14.*|CR2\) 0x0*dead0000: page not present on write' crash_pagefault
check null 'NULL pointer dereference' crash_null
check divide 'CRASH: divide error \(vector 0,' crash_divide
check stack 'a guard page hit means a stack overflow' crash_recurse
check panic 'panic: on purpose' main

# The shipped image (stripped, section headers dropped by tools/trim-elf.sh)
# boots from its program headers alone; given to `miura symbolize`, it finds
# the test_crash.elf next to it, whose code hashes the same.
shipped=${img%.elf}
out=$OUTDIR/crash-shipped.log
if [ -f "$shipped" ] && LC_ALL=C readelf -hW "$shipped" | grep -qE 'Number of section headers: +0$'; then
    pass shipped/no-section-headers
else
    fail shipped/no-section-headers "$shipped missing or still has section headers"
fi
boot_image "$shipped" "$out" "crash=divide" 60
expect_status shipped/status $CRASH_STATUS
"$MIURA" symbolize "$shipped" "$out" >"$out.named" 2>&1
expect_grep shipped/named "$out.named" '^      #0 0x[0-9a-f]{16} crash_divide(\.[a-z0-9.]+)?\+0x'

# Another build's ELF: a note, the addresses left as they are, no wrong names.
hello=$ROOT/build/apps/hello/hello.elf
"$MIURA" symbolize "$hello" "$OUTDIR/crash-divide.log" >"$out.other" 2>&1
rc=$?
if [ $rc -eq 0 ] && grep -qE '^    \(miura: image [0-9a-f]{8} is another build than the ELF given' "$out.other" &&
    grep -qE '^      #0 0x[0-9a-f]{16}$' "$out.other"; then
    pass other-build/not-named
else
    fail other-build/not-named "rc $rc: $(head -c 600 "$out.other")"
fi

# Bad ELF files: a one-line cause and status 1, never a crash.
head -c 1000 "$img" >"$OUTDIR/crash-truncated.elf"
head -c 64 /dev/urandom >"$OUTDIR/crash-garbage.elf"
for bad in "$OUTDIR/crash-truncated.elf:outside the file|malformed" "$OUTDIR/crash-garbage.elf:not an ELF file" \
    "/bin/sh:not an executable ELF file" "$OUTDIR/no-such.elf:No such file"; do
    f=${bad%%:*}
    "$MIURA" symbolize "$f" </dev/null >"$out.bad" 2>&1
    rc=$?
    if [ $rc -eq 1 ] && [ "$(wc -l <"$out.bad")" = 1 ] && grep -qE "^miura: $f: .*(${bad#*:})" "$out.bad"; then
        pass "bad-elf/$(basename "$f")"
    else
        fail "bad-elf/$(basename "$f")" "rc $rc: $(cat "$out.bad")"
    fi
done
finish
