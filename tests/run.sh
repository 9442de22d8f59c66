#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
# Runs every test and prints "N passed, N failed" last.
#
# Each test program prints one line per case, "ok - NAME" or "not ok - NAME:
# why". A program that exits non-zero, or prints no "ok" line at all, adds one
# failure of its own, so a crashed or silent test never counts as a pass.
# Usage: tests/run.sh [unit|fuzz|spec|e2e ...]   (default: all four kinds)
set -u
cd "$(dirname "$0")/.."
kinds=("$@")
[ ${#kinds[@]} -gt 0 ] || kinds=(unit fuzz spec e2e)
FUZZ_SECONDS=${FUZZ_SECONDS:-15}
log=build/test-logs
mkdir -p "$log"
passed=0
failed=0
failures=()

run_one() { # name, command...
    local name=$1
    shift
    local out="$log/${name//\//_}.log"
    "$@" >"$out" 2>&1
    local rc=$?
    local ok notok
    ok=$(grep -c '^ok - ' "$out")
    notok=$(grep -c '^not ok - ' "$out")
    passed=$((passed + ok))
    failed=$((failed + notok))
    grep -E '^(ok|not ok) - ' "$out"
    while IFS= read -r line; do failures+=("$line"); done < <(grep '^not ok - ' "$out")
    if [ "$rc" -ne 0 ] && [ "$notok" -eq 0 ]; then
        echo "not ok - $name: exited with status $rc (log: $out)"
        failures+=("not ok - $name: exited with status $rc")
        failed=$((failed + 1))
    elif [ "$ok" -eq 0 ] && [ "$notok" -eq 0 ]; then
        echo "not ok - $name: printed no result (log: $out)"
        failures+=("not ok - $name: printed no result")
        failed=$((failed + 1))
    fi
    if [ "$rc" -ne 0 ] || [ "$notok" -ne 0 ]; then
        echo "---- tail of $out"
        tail -n 25 "$out"
        echo "----"
    fi
}

fuzz_one() { # binary
    local f=$1 name corpus
    name=$(basename "$f")
    corpus=build/fuzz-corpus/$name
    mkdir -p "$corpus"
    [ -d "fuzz/corpus/$name" ] && cp -n fuzz/corpus/"$name"/* "$corpus"/ 2>/dev/null
    if "$f" -max_total_time="$FUZZ_SECONDS" -timeout=10 -rss_limit_mb=2048 \
        -artifact_prefix="$log/fuzz_${name}_" -print_final_stats=1 "$corpus" \
        >"$log/fuzz_$name.raw" 2>&1; then
        echo "ok - fuzz/$name ($(grep -o 'stat::number_of_executed_units: *[0-9]*' \
            "$log/fuzz_$name.raw" | grep -o '[0-9]*$') inputs, no crash)"
    else
        echo "not ok - fuzz/$name: fuzzer found a crash, see $log/fuzz_$name.raw"
        grep -A15 'ERROR' "$log/fuzz_$name.raw" | head -30
    fi
}

format_check() { # every C file as the committed .clang-format wants it
    if command -v clang-format >/dev/null && make -s format-check; then
        echo "ok - format/clang-format ($(git ls-files '*.c' '*.h' | wc -l) files)"
    else
        echo "not ok - format/clang-format: run 'make format' (needs clang-format)"
    fi
}

for kind in "${kinds[@]}"; do
    case $kind in
    unit)
        run_one format format_check
        for t in build/unit/bin/*; do
            [ -x "$t" ] && run_one "unit/$(basename "$t")" "$t"
        done
        ;;
    fuzz)
        for f in build/fuzz/*; do
            [ -x "$f" ] && run_one "fuzz/$(basename "$f")" fuzz_one "$f"
        done
        ;;
    spec)
        run_one spec/models bash spec/check.sh
        ;;
    e2e)
        for t in tests/e2e/*.sh; do
            [ "$(basename "$t")" = lib.sh ] && continue
            run_one "e2e/$(basename "$t" .sh)" bash "$t"
        done
        ;;
    *)
        echo "unknown test kind: $kind (want unit, fuzz, spec or e2e)" >&2
        exit 2
        ;;
    esac
done

if [ ${#failures[@]} -gt 0 ]; then
    echo
    echo "Failures:"
    printf '  %s\n' "${failures[@]}"
fi
echo
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
