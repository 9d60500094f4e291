#!/bin/sh
# Prints speed (CPU time via perf, wall time otherwise), linearity and peak RSS of
# parse+render and parse+edit+render on 5 MiB and 50 MiB generated main.cf files.
# Usage: crates/postfix-conf/benches/measure.sh   (from the workspace root)
set -eu
T=${CARGO_TARGET_DIR:-target}
cargo build --release -q -p postfix-conf --example roundtrip
R=$T/release/examples/roundtrip
D=$(mktemp -d)
trap 'rm -rf "$D"' EXIT
$R gen 5 "$D/5.cf"
$R gen 50 "$D/50.cf"
for f in "$D/5.cf" "$D/50.cf" /usr/share/postfix/main.cf.dist; do
  for m in --read-only "" --edit; do
    if command -v perf >/dev/null 2>&1; then
      printf '%s %s: ' "$(basename "$f")" "${m:-parse+render}"
      perf stat -r 3 -e task-clock "$R" "$f" $m 2>&1 >/dev/null | awk '/task-clock/ {print $1 " ms CPU"}'
    fi
    /usr/bin/time -f "  peak RSS %M KB, wall %e s" "$R" "$f" $m
  done
done
