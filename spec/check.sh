#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
# Model checks (docs/verification.md): every property of spec/*.pml searched
# exhaustively by SPIN, and every deliberately broken variant rejected for the
# reason it was built to show. One "ok - spec/NAME: ..." line per check.
# Usage: spec/check.sh [--full] [NAME-PATTERN]   (a grep -E pattern over check names)
# Without --full (what make test runs): every broken variant, and every
# property at the configurations listed below, about 22 M states and 2
# minutes of CPU in all (docs/verification.md). --full adds the larger
# combinations and the checks that only show a barrier is not needed.
# SPEC_JOBS checks run at once (default 2); the times printed are wall-clock
# seconds of each search, so they grow when checks share the CPUs.
set -u
cd "$(dirname "$0")/.." || exit 1
full=0
if [ "${1:-}" = --full ]; then
    full=1
    shift
fi
only=${1:-}
started=$(date +%s)
jobs_max=${SPEC_JOBS:-2}
out=build/spec
mkdir -p "$out"
names=()

if ! command -v spin >/dev/null 2>&1; then
    echo "not ok - spec/spin: spin is not installed (tools/deps.sh test installs Debian's spin)"
    exit 1
fi

# check NAME MODEL "FLAGS" MODE EXPECT WHAT
#   MODE    safety: assertions and end states; progress: non-progress cycles
#           (the model is built with -DPROGRESS for its progress labels)
#   EXPECT  holds, or the text pan's first error must contain
check() {
    local name=$1
    [ -n "$only" ] && ! grep -qE "$only" <<<"$name" && return 0
    names+=("$name")
    rm -rf "${out:?}/$name" && mkdir -p "$out/$name"
    while [ "$(jobs -rp | wc -l)" -ge "$jobs_max" ]; do wait -n; done
    run_check "$@" >"$out/$name/result" &
}

run_check() {
    local name=$1 model=$2 flags=$3 mode=$4 expect=$5 what=$6
    local dir=$out/$name
    # -O0: compiling pan.c at -O2 costs more CPU than the faster search
    # saves (about 10% on the largest search here), and most checks are short.
    local cflags=(-O0 -DSAFETY) run=(./pan -m3000000 -w24)
    if [ "$mode" = progress ]; then
        flags="$flags -DPROGRESS"
        cflags=(-O0 -DNP)
        run=(./pan -l -m3000000 -w24)
    fi
    # shellcheck disable=SC2086
    if ! (cd "$dir" && spin -a $flags "../../../spec/$model" >spin.log 2>&1 &&
        gcc -w "${cflags[@]}" -o pan pan.c >gcc.log 2>&1); then
        echo "not ok - spec/$name: the model does not build (see $dir)"
        return
    fi
    local t0 t1 secs
    t0=$(date +%s%N)
    (cd "$dir" && "${run[@]}" >pan.log 2>&1)
    t1=$(date +%s%N)
    secs=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", (b - a) / 1e9 }')
    local log=$dir/pan.log errors states err
    errors=$(sed -n 's/.*errors: \([0-9]*\).*/\1/p' "$log" | head -1)
    states=$(sed -n 's/^ *\([0-9][0-9]*\) states, stored.*/\1/p' "$log" | head -1)
    err=$(sed -n 's/^pan:1: \(.*\) (at depth.*/\1/p' "$log" | head -1)
    if [ -z "$errors" ] || [ -z "$states" ]; then
        echo "not ok - spec/$name: pan did not finish (see $log)"
    elif grep -q 'max search depth too small' "$log" ||
        { [ "$errors" = 0 ] && grep -q 'Search not completed' "$log"; }; then
        echo "not ok - spec/$name: the search was cut short (see $log)"
    elif [ "$expect" = holds ]; then
        if [ "$errors" = 0 ]; then
            echo "ok - spec/$name: $what: holds, exhaustive over $states states, ${secs} s"
        else
            echo "not ok - spec/$name: $what: violated: $err (trail in $dir)"
        fi
    elif [ "$errors" != 0 ] && [[ "$err" == *"$expect"* ]]; then
        echo "ok - spec/$name: $what: rejected ($err) after $states states, ${secs} s"
    elif [ "$errors" != 0 ]; then
        echo "not ok - spec/$name: $what: rejected for another reason: $err (trail in $dir)"
    else
        echo "not ok - spec/$name: $what: the broken variant passed ($states states): the check cannot fail"
    fi
}

VQ=virtqueue.pml
# ---- split virtqueue: properties (QSIZE 2, indices modulo 4 = two laps of the ring)
NOTI="no lost notification (deadlock-free), no descriptor reused before used, no index overflow"
check vq_today $VQ "-DBATCH" safety holds "today's C (flags, nobody suppresses): $NOTI"
check vq_flags $VQ "-DDRV_DISABLE -DDEV_SUPPRESS -DBATCH" safety holds \
    "NO_INTERRUPT + NO_NOTIFY suppression: $NOTI"
check vq_event_idx $VQ "-DEVENT_IDX -DDEV_NOTIFY_EARLY" safety holds \
    "EVENT_IDX, the device signalling after any used entry: $NOTI"
check vq_today_progress $VQ "-DBATCH" progress holds \
    "today's C: every buffer made available is used and seen (no cycle without a completion)"
check vq_event_idx_progress $VQ "-DEVENT_IDX" progress holds \
    "EVENT_IDX: every buffer made available is used and seen"
if [ "$full" = 1 ]; then
    check vq_event_idx_all $VQ "-DEVENT_IDX -DDRV_DISABLE -DBATCH -DDEV_NOTIFY_EARLY" safety holds \
        "EVENT_IDX, vq_disable_cb, batches, the device signalling after any used entry: $NOTI"
    check vq_flags_progress $VQ "-DDRV_DISABLE -DDEV_SUPPRESS" progress holds \
        "flag suppression: every buffer made available is used and seen"
    check vq_event_idx_early_progress $VQ "-DEVENT_IDX -DDEV_NOTIFY_EARLY" progress holds \
        "EVENT_IDX, the device signalling after any used entry: every buffer made available is used and seen"
    # implied by vq_event_idx (every TSO execution is one of the weak model's), shown anyway
    check vq_tso $VQ "-DTSO -DEVENT_IDX -DDRV_DISABLE -DDEV_NOTIFY_EARLY" safety holds \
        "EVENT_IDX under x86 TSO: $NOTI"
    check vq_redundant_get_used_mb $VQ "-DEVENT_IDX -DDRV_DISABLE -DBATCH -DDEV_NOTIFY_EARLY -DDROP_GET_USED_MB" \
        safety holds "EVENT_IDX without vq_get_used's mb (vq_enable_cb's suffices): $NOTI"
    check vq_today_kick_mb_unneeded $VQ "-DBATCH -DBUG_KICK_NO_MB -DBUG_ENABLE_NO_MB -DBUG_NOTIFY_NO_MB" \
        safety holds "today's C without the three notification mbs (nobody suppresses): $NOTI"
fi
# ---- split virtqueue: broken variants
LOST="invalid end state"
check vq_bug_kick_no_mb $VQ "-DDEV_SUPPRESS -DBUG_KICK_NO_MB" safety "$LOST" \
    "no mb between avail->idx and NO_NOTIFY: lost kick"
check vq_bug_kick_no_mb_event_idx $VQ "-DEVENT_IDX -DBUG_KICK_NO_MB" safety "$LOST" \
    "no mb between avail->idx and avail_event: lost kick"
check vq_bug_enable_no_mb $VQ "-DDRV_DISABLE -DBUG_ENABLE_NO_MB" safety "$LOST" \
    "vq_enable_cb without mb: lost interrupt"
check vq_bug_enable_no_mb_event_idx $VQ "-DEVENT_IDX -DDRV_DISABLE -DBUG_ENABLE_NO_MB" safety "$LOST" \
    "vq_enable_cb without mb (EVENT_IDX): lost interrupt"
check vq_bug_notify_no_mb $VQ "-DDRV_DISABLE -DBUG_NOTIFY_NO_MB" safety "$LOST" \
    "vq_notify without fence: lost interrupt"
check vq_bug_notify_no_mb_event_idx $VQ "-DEVENT_IDX -DDEV_NOTIFY_EARLY -DBUG_NOTIFY_NO_MB" safety "$LOST" \
    "vq_notify without fence (EVENT_IDX, a device signalling before its recheck): lost interrupt"
check vq_bug_dev_enable_no_mb $VQ "-DDEV_SUPPRESS -DBUG_DEV_ENABLE_NO_MB" safety "$LOST" \
    "device re-enables notifications without mb before its recheck: lost kick"
check vq_bug_dev_enable_no_mb_event_idx $VQ "-DEVENT_IDX -DBUG_DEV_ENABLE_NO_MB" safety "$LOST" \
    "device writes avail_event without mb before its recheck: lost kick"
check vq_bug_drv_no_wmb $VQ "-DBUG_DRV_NO_WMB" safety "assertion violated (x==seq)" \
    "no wmb before avail->idx: the device reads a stale descriptor"
check vq_bug_drv_no_rmb $VQ "-DBUG_DRV_NO_RMB" safety "assertion violated" \
    "no rmb after used->idx: the driver reads a stale used entry"
check vq_bug_dev_no_wmb $VQ "-DBUG_DEV_NO_WMB" safety "assertion violated" \
    "no release before used->idx: the driver reads a stale used entry"
check vq_bug_dev_no_rmb $VQ "-DBUG_DEV_NO_RMB" safety "assertion violated" \
    "no acquire on avail->idx: the device reads a stale avail entry"
check vq_bug_use_after_push $VQ "-DBUG_USE_AFTER_PUSH" safety "assertion violated" \
    "device returns a buffer before it is done: descriptor reused before used"
check vq_bug_event_no_wrap $VQ "-DEVENT_IDX -DBUG_EVENT_NO_WRAP" safety "$LOST" \
    "need_event without 16-bit wrap: lost notification at the wrap"
check vq_bug_idx_mod_qsize $VQ "-DBUG_IDX_MOD_QSIZE" safety "$LOST" \
    "indices kept modulo the ring size: a full ring looks empty (index overflow)"
check vq_bug_dev_no_avail_event $VQ "-DEVENT_IDX -DBUG_DEV_NO_AVAIL_EVENT" safety "$LOST" \
    "EVENT_IDX offered by a device that never writes avail_event (vsockd today): lost kick"
check vq_bug_unbounded_batch $VQ "-DEVENT_IDX -DBUG_UNBOUNDED_BATCH" safety "$LOST" \
    "EVENT_IDX device deciding after 2^16 pushes or more: lost interrupt"

VS=vsock.pml
# ---- vsock stream protocol: properties (units of 64 KiB, buf_alloc 4, counters modulo 8)
SAFE="credit never exceeded, data in order once, the end of the stream after all data sent, no deadlock, every connection CLOSED without timeouts"
check vsock_host_tcp $VS "-DHOST_TCP -DGN=3 -DHN=3" safety holds "--publish client, 3 units each way: $SAFE"
check vsock_guest_to_host_credit $VS "-DHOST_TCP -DGN=6 -DHN=0" safety holds \
    "--publish client, 6 units from the guest (credit runs out): $SAFE"
check vsock_host_to_guest_credit $VS "-DHOST_TCP -DGN=1 -DHN=6" safety holds \
    "--publish client, 6 units from the host (credit runs out): $SAFE"
check vsock_uds $VS "-DHOST_UDS -DGN=2 -DHN=2" safety holds "--uds client and its CONNECT line: $SAFE"
check vsock_uds_early_close $VS "-DHOST_UDS -DEARLY_CLOSE -DGN=1 -DHN=2" safety holds \
    "--uds client, either side closing at any time: $SAFE"
check vsock_early_close $VS "-DHOST_TCP -DEARLY_CLOSE -DGN=2 -DHN=1" safety holds \
    "--publish client, either side closing at any time: $SAFE"
check vsock_guest_client $VS "-DGUEST_CLIENT -DGN=3 -DHN=3" safety holds "guest connects out: $SAFE"
check vsock_guest_client_credit $VS "-DGUEST_CLIENT -DGN=6 -DHN=1" safety holds \
    "guest connects out and sends 6 units: $SAFE"
check vsock_guest_client_early_close $VS "-DGUEST_CLIENT -DEARLY_CLOSE -DGN=2 -DHN=2" safety holds \
    "guest connects out, either side closing at any time: $SAFE"
check vsock_no_listener $VS "-DGUEST_CLIENT -DNO_LISTENER -DGN=1 -DHN=1" safety holds \
    "guest connects to a port nobody listens on: refused, CLOSED"
check vsock_rcvbuf_shrink $VS "-DHOST_TCP -DRCVBUF_SHRINK -DGN=0 -DHN=6" safety holds \
    "SO_RCVBUF halved with data in flight: $SAFE"
check vsock_guest_client_rcvbuf_shrink $VS "-DGUEST_CLIENT -DRCVBUF_SHRINK -DGN=1 -DHN=5" safety holds \
    "guest connects out, SO_RCVBUF halved with data in flight: $SAFE"
check vsock_host_stops $VS "-DHOST_TCP -DHOST_STOPS -DGN=1 -DHN=2" safety holds \
    "vsockd killed at any point: the guest's connection still reaches CLOSED (close timeout)"
check vsock_guest_client_host_stops $VS "-DGUEST_CLIENT -DHOST_STOPS -DGN=1 -DHN=2" safety holds \
    "vsockd killed at any point, guest connected out: CLOSED (connect or close timeout)"
check vsock_eager_timeouts $VS "-DHOST_TCP -DEAGER_TIMEOUTS -DGN=2 -DHN=2" safety holds \
    "timers firing at any moment: credit, order, no deadlock and CLOSED still hold"
check vsock_progress_guest_sends $VS "-DGUEST_CLIENT -DGN=6 -DHN=0" progress holds \
    "no busy loop between the stacks (every cycle has an application step), credit running out"
check vsock_progress_both $VS "-DHOST_TCP -DGN=2 -DHN=2" progress holds \
    "no busy loop between the stacks, data both ways"
check vsock_progress_uds $VS "-DHOST_UDS -DEARLY_CLOSE -DGN=1 -DHN=1" progress holds \
    "no busy loop between the stacks, --uds client closing at any time"
# ---- vsock: broken variants
check vsock_bug_fwd_cnt_received $VS "-DHOST_TCP -DGN=1 -DHN=5 -DBUG_FWD_CNT_RECEIVED" safety \
    "assertion violated (g_rx_bytes<4)" "guest reports bytes received as consumed (Toro's fwd_cnt bug): credit exceeded"
check vsock_bug_rw_ignores_credit $VS "-DHOST_TCP -DGN=0 -DHN=5 -DBUG_RW_IGNORES_CREDIT" safety \
    "assertion violated" "vsockd reads the host socket without credit: credit exceeded"
check vsock_bug_no_credit_update $VS "-DHOST_TCP -DGN=0 -DHN=5 -DBUG_NO_CREDIT_UPDATE" safety \
    "!(stuck)" "guest never sends CREDIT_UPDATE: deadlock waiting for credit"
check vsock_bug_host_no_credit $VS "-DHOST_TCP -DGN=5 -DHN=0 -DBUG_HOST_NO_CREDIT" safety \
    "!(stuck)" "vsockd never grants credit again: deadlock waiting for credit"
check vsock_bug_close_no_answer $VS "-DHOST_TCP -DEARLY_CLOSE -DGN=1 -DHN=1 -DBUG_CLOSE_NO_ANSWER" safety \
    "assertion violated" "neither end answers SHUTDOWN while closing: both wait for the other (a timer is needed)"
check vsock_bug_shutdown_before_flush $VS "-DHOST_TCP -DGN=2 -DHN=2 -DBUG_SHUTDOWN_BEFORE_FLUSH" safety \
    "assertion violated ((hc_recvd==ga_sent)" "vsockd half-closes the host socket with data still buffered: end of stream before the data"
check vsock_bug_no_close_timeout $VS "-DGUEST_CLIENT -DHOST_STOPS -DGN=1 -DHN=1 -DBUG_NO_CLOSE_TIMEOUT" safety \
    "!(stuck)" "no close timeout: CLOSING forever once vsockd is gone"
check vsock_bug_shrink_window $VS "-DHOST_TCP -DRCVBUF_SHRINK -DGN=0 -DHN=5 -DBUG_SHRINK_WINDOW" safety \
    "assertion violated (sq==255)" "smaller SO_RCVBUF drops data sent in the old window (the C before this model)"
check vsock_bug_credit_pingpong $VS "-DHOST_TCP -DGN=6 -DHN=0 -DBUG_CREDIT_PINGPONG" progress \
    "non-progress cycle" "an empty CREDIT_UPDATE re-arms CREDIT_REQUEST: busy loop (the C before this model)"
check vsock_bug_dup_send $VS "-DHOST_TCP -DGN=2 -DHN=0 -DBUG_DUP_SEND" safety \
    "assertion violated (sq==h_rx_next)" "guest resends a unit it reported as not sent: duplicate delivery"

wait
status=0
for name in "${names[@]}"; do
    if [ -s "$out/$name/result" ]; then
        cat "$out/$name/result"
        grep -q '^not ok' "$out/$name/result" && status=1
    else
        echo "not ok - spec/$name: the check printed no result"
        status=1
    fi
done
echo "# spec/check.sh: ${#names[@]} checks in $(($(date +%s) - started)) s (SPEC_JOBS=$jobs_max)"
exit $status
