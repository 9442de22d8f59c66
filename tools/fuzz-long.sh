#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
# Long fuzzing runs that keep what they find (`make fuzz-long FUZZ_S=N`).
#
# Every libFuzzer target in build/fuzz/ (or those named in FUZZ_TARGETS) runs
# FUZZ_S seconds (default 3600) on a working corpus seeded from the committed
# fuzz/corpus/<target>/ and kept in build/fuzz-long/<target>/ between runs.
# Afterwards the inputs that add coverage are merged into fuzz/corpus/<target>/
# with -merge=1 (only new features are added, so the committed corpus stays
# small), and one summary line per target goes to build/fuzz-long/summary.md:
#   | target | seconds | inputs run | cov before -> after | ft before -> after | corpus files (KiB) | crashes |
# "cov" is libFuzzer's count of covered edges, "ft" its features, both from
# a -runs=0 pass over the committed corpus before and after the merge.
#
# FUZZ_JOBS targets run at once (default 1), each under `nice -n 19`. A crash,
# a hang or an out-of-memory stops that target; its input stays in
# build/fuzz-long/<target>/artifacts/ and the script exits 1 at the end. An
# input counts as a hang after FUZZ_TIMEOUT seconds (default 300): at nice
# 19 on a busy machine a process can be starved for many seconds (libFuzzer's
# default of 1200 s, or 10 s, misreport that either way), while every target
# runs one input in well under a second.
set -u
cd "$(dirname "$0")/.."
secs=${FUZZ_S:-3600}
jobs=${FUZZ_JOBS:-1}
timeout=${FUZZ_TIMEOUT:-300}
[[ $secs =~ ^[0-9]+$ && $secs -gt 0 ]] || { echo "fuzz-long: FUZZ_S must be a number of seconds > 0" >&2; exit 2; }
[[ $jobs =~ ^[0-9]+$ && $jobs -gt 0 ]] || { echo "fuzz-long: FUZZ_JOBS must be >= 1" >&2; exit 2; }
out=build/fuzz-long
mkdir -p "$out"

targets=()
if [ -n "${FUZZ_TARGETS:-}" ]; then
    read -ra targets <<<"$FUZZ_TARGETS"
else
    for f in build/fuzz/*; do [ -x "$f" ] && targets+=("$(basename "$f")"); done
fi
[ ${#targets[@]} -gt 0 ] || { echo "fuzz-long: no fuzz targets in build/fuzz (run make fuzz)" >&2; exit 2; }
for t in "${targets[@]}"; do
    [ -x "build/fuzz/$t" ] || { echo "fuzz-long: build/fuzz/$t missing (run make fuzz)" >&2; exit 2; }
done

# "cov ft" after loading a corpus, from libFuzzer's INITED line.
coverage() { # target dir
    nice -n 19 "build/fuzz/$1" -runs=0 -rss_limit_mb=2048 "$2" 2>&1 |
        sed -n 's/.*INITED cov: \([0-9]*\) ft: \([0-9]*\).*/\1 \2/p' | tail -n 1
}

one() { # target: run, merge, summarise
    local t=$1 dir=$out/$1 seed=fuzz/corpus/$1
    local bin=build/fuzz/$t before after runs rc files kib
    mkdir -p "$dir/corpus" "$dir/artifacts" "$seed"
    cp -n "$seed"/* "$dir/corpus/" 2>/dev/null
    before=$(coverage "$t" "$seed")
    nice -n 19 "$bin" -max_total_time="$secs" -timeout="$timeout" -rss_limit_mb=2048 \
        -print_final_stats=1 -artifact_prefix="$dir/artifacts/" "$dir/corpus" >"$dir/run.log" 2>&1
    rc=$?
    runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$dir/run.log" | tail -n 1)
    nice -n 19 "$bin" -merge=1 -rss_limit_mb=2048 "$seed" "$dir/corpus" >"$dir/merge.log" 2>&1
    after=$(coverage "$t" "$seed")
    files=$(find "$seed" -type f | wc -l)
    kib=$(du -sk --apparent-size "$seed" | cut -f1)
    local crash=0
    [ "$rc" -eq 0 ] || crash="1 (exit $rc, see $dir/run.log)"
    printf '| %s | %s | %s | %s -> %s | %s -> %s | %s (%s KiB) | %s |\n' "$t" "$secs" \
        "${runs:-?}" "${before%% *}" "${after%% *}" "${before##* }" "${after##* }" \
        "$files" "$kib" "$crash" >"$dir/summary"
    cat "$dir/summary"
}

echo "fuzz-long: ${#targets[@]} targets, $secs s each, $jobs at a time (logs in $out/)"
for t in "${targets[@]}"; do
    while [ "$(jobs -rp | wc -l)" -ge "$jobs" ]; do wait -n; done
    rm -f "$out/$t/summary"
    one "$t" &
done
wait
status=0
{
    echo "| target | seconds | inputs run | cov (edges) | ft (features) | committed corpus | crashes |"
    echo "|---|---|---|---|---|---|---|"
    for t in "${targets[@]}"; do
        cat "$out/$t/summary" 2>/dev/null || echo "| $t | no summary |"
        grep -q '| 0 |$' "$out/$t/summary" 2>/dev/null || status=1
    done
} >"$out/summary.md"
echo "fuzz-long: summary in $out/summary.md"
exit "$status"
