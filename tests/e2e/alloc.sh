#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
# The Memory unit in a guest: a random stress run returns every page,
# misuse is reported and survived, exhaustion gives NULL/ENOMEM.
SUITE=alloc
source "$(dirname "$0")/lib.sh"
img=$(need_image test_alloc)
out=$OUTDIR/alloc.log
MEM=64M boot_image "$img" "$out" "" 180
expect_status status 0
expect_grep stress-ran "$out" '^stress: [0-9]{5,} allocations, [0-9]{5,} frees, 0 corrupt bytes$'
expect_grep heap-back-to-start "$out" '^stress: heap grew by 0 pages, 0 bytes in use, 0 live$'
before=$(sed -n 's/^stress: free pages before \([0-9]*\) after \([0-9]*\)$/\1/p' "$out")
after=$(sed -n 's/^stress: free pages before \([0-9]*\) after \([0-9]*\)$/\2/p' "$out")
if [ -n "$before" ] && [ "$before" = "$after" ] && [ "$before" -gt 10000 ]; then
    pass all-pages-returned
else
    fail all-pages-returned "free pages before '${before:-?}' after '${after:-?}'"
fi
expect_grep aligned "$out" '^aligned_alloc: 0 misaligned$'
expect_grep misuse-counted "$out" '^misuse: 1 double frees, 2 invalid frees reported$'
expect_grep double-free-reported "$out" '^mm: .*double free'
expect_grep oom "$out" '^oom: [1-9][0-9] MiB allocated, last malloc NULL with errno 12, huge malloc NULL$'
expect_grep oom-pages-restored "$out" '^oom: free pages before ([0-9]+) after \1$'
expect_grep pages-all-handed-out "$out" '^pages: ([0-9]+) of \1 free pages handed out one by one'
# RAM under 1 MiB (below the image) is managed too: the lowest page is there.
expect_grep pages-below-image "$out" '^pages: .* lowest 0x[0-9a-f]{4,5}, 0 in page 0 or the image$'
expect_grep done "$out" '^test_alloc: done$'
finish
