#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
# The Process unit, checked from outside: thread order, join values, sleep
# accuracy, wait queues and timeouts.
SUITE=sched
source "$(dirname "$0")/lib.sh"
img=$(need_image test_sched)
out=$OUTDIR/sched.log
boot_image "$img" "$out" "" 120
expect_status status 0
expect_grep yield-order "$out" '^order: A0 B0 C0 A1 B1 C1 A2 B2 C2 $'
expect_grep join-values "$out" '^join: 0 10 20$'
expect_grep wake-order "$out" '^wake order: 100 200 300 $'
expect_grep waitq "$out" '^waitq: consumer got 5 items$'
expect_grep churn "$out" '^churn: 1000 threads created and joined$'
expect_grep errors "$out" '^errors: join self -1 EDEADLK, join NULL -1 EINVAL, detach 0 then -1 EINVAL, bad cpu NULL EINVAL, cpu 0 of [1-9][0-9]*$'
if grep -q 'thread churn failed' "$out"; then fail churn-errors "$(grep -m1 'thread churn failed' "$out")"; fi

# Timeout: -ETIMEDOUT (-110) after at least 5 ms.
t=$(sed -n 's/^timeout: rc=-110 after \([0-9]*\) ns$/\1/p' "$out")
if [ -n "$t" ] && [ "$t" -ge 5000000 ]; then pass waitq-timeout; else fail waitq-timeout "$(grep '^timeout:' "$out" || echo 'no timeout line')"; fi

# Sleep accuracy. What the scheduler promises (docs/kernel.md): a 10 ms sleep
# never ends early, by the guest's own clock. How late it ends depends on the
# host (a descheduled vCPU); that is reported here, and not judged.
mapfile -t s < <(sed -n 's/^sleep 10ms: \([0-9]*\) ns$/\1/p' "$out" | sort -n)
if [ ${#s[@]} -ne 10 ]; then
    fail sleep-count "want 10 sleep lines, got ${#s[@]}"
else
    [ "${s[0]}" -ge 10000000 ] && pass sleep-at-least-10ms || fail sleep-at-least-10ms "shortest ${s[0]} ns"
    echo "# 10 ms sleeps: median $((s[5] / 1000)) us, longest $((s[9] / 1000)) us"
fi
finish
