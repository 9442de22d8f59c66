#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
# Runs every benchmark (bench/*/run.sh) in turn.
set -eu
cd "$(dirname "$0")/.."
for b in bench/*/run.sh; do
    echo "== $b"
    bash "$b"
done
