#!/usr/bin/env bash
# Whole-process timing of the simulation matrix (all built-in client profiles x every inbound
# TLS service, current and planned): `pftls simulate -p inbound-opportunistic` on the
# over-hardened CentOS Stream 10 example. Target: under 300 ms per run (release build).
# Usage: bench-simulate.sh [PFTLS_BINARY] [RUNS]   (default target/release/pftls, 20 runs)
# Uses hyperfine when installed, else a bounded loop; prints min/median/mean/max in ms.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../../../.." && pwd)
bin=${1:-$repo/target/release/pftls}
runs=${2:-20}
[ -x "$bin" ] || { echo "no pftls binary at $bin (cargo build --release -p pftls)" >&2; exit 1; }
ex=$repo/examples/centos-stream-10
args=(-c "$ex/over-hardened" --crypto-policies-dir "$ex/crypto-policies" --format json
      simulate -p inbound-opportunistic)
"$bin" "${args[@]}" >/dev/null   # fail early (set -e) if the command itself fails
if command -v hyperfine >/dev/null 2>&1; then
    hyperfine --warmup 2 --runs "$runs" --export-json /dev/null "$bin ${args[*]}"
    exit 0
fi
times=()
for _ in $(seq 1 "$runs"); do
    start=$(date +%s%N)
    "$bin" "${args[@]}" >/dev/null
    end=$(date +%s%N)
    times+=($(( (end - start) / 1000 )))
done
printf '%s\n' "${times[@]}" | sort -n | awk -v runs="$runs" '
    { t[NR] = $1; sum += $1 }
    END { printf "pftls simulate -p inbound-opportunistic: %d runs, min %.1f ms, median %.1f ms, mean %.1f ms, max %.1f ms\n",
          runs, t[1]/1000, t[int((NR+1)/2)]/1000, sum/NR/1000, t[NR]/1000 }'
