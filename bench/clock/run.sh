#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
# bench/clock: the guest's clock against the host's. A web server instance
# runs CLOCK_S seconds (default 600) after its kernel disciplined its clock;
# every CLOCK_EVERY seconds (default 60) tests/tools/clock_probe brackets the
# instant its Date turns over between two host clock readings (an exact
# interval, a few ms wide at most). Reports the offset series and the drift
# per hour, from the first to the last measurement.
# Usage: bench/clock/run.sh   (CLOCK_S=600 CLOCK_EVERY=60)
set -eu
cd "$(dirname "$0")/../.."
source bench/lib.sh
CLOCK_S=${CLOCK_S:-600}
CLOCK_EVERY=${CLOCK_EVERY:-60}
make --no-print-directory -s build/apps/webserver/webserver.elf build/bin/miura build/bin/miura-vsockd \
    build/bin/clock_probe
work=$(mktemp -d /tmp/miura-bench-clock.XXXXXX)
export MIURA_RUNTIME_DIR=$work/rt MIURA_VSOCKD=$PWD/build/bin/miura-vsockd
trap 'build/bin/miura stop bclk >/dev/null 2>&1; rm -rf "$work"' EXIT
mkdir -p "$work/site"
echo clock >"$work/site/index.html"
for _ in $(seq "$PORT_TRIES"); do
    port=$(free_port)
    build/bin/miura run --detach --name bclk --share "$work/site" --publish "127.0.0.1:$port:80" \
        --append log=0 build/apps/webserver/webserver.elf >"$work/start" 2>&1 && break
    grep -q 'Address already in use' "$work/start" || { cat "$work/start" >&2; exit 1; }
done
for _ in $(seq 1200); do grep -q '^time: TSC' "$work/rt/bclk/console.log" 2>/dev/null && break; sleep 0.1; done
grep '^time: TSC' "$work/rt/bclk/console.log" || { echo "bench/clock: the guest never disciplined its clock" >&2; exit 1; }

probe() { # → "LO HI AT" (ns)
    build/bin/clock_probe --tcp "127.0.0.1:$port" --edges 3 --max-width-ms 50 |
        sed -n 's/^offset_ns \(-*[0-9]*\) \(-*[0-9]*\) at_ns \([0-9]*\) .*/\1 \2 \3/p'
}
: >"$work/series"
start=$(date +%s)
while :; do
    probe >>"$work/series"
    [ $(($(date +%s) - start)) -ge "$CLOCK_S" ] && break
    sleep "$CLOCK_EVERY"
done
awk 'NR == 1 { at0 = $3; lo0 = $1; hi0 = $2 }
     { printf "t=%4.0f s  offset %9.3f .. %9.3f ms\n", ($3 - at0) / 1e9, $1 / 1e6, $2 / 1e6
       lo = $1; hi = $2; at = $3 }
     END {
       span = (at - at0) / 1e9; d = ((lo + hi) / 2 - (lo0 + hi0) / 2) / 1e6
       printf "drift over %.0f s: %.3f ms (%.3f .. %.3f ms), %.2f ms per hour, %.2f ppm\n",
              span, d, (lo - hi0) / 1e6, (hi - lo0) / 1e6, d / span * 3600, d / span * 1000 }' "$work/series"
