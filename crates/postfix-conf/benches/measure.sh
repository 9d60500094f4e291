#!/bin/sh
# Prints speed (CPU time via perf, wall time otherwise), linearity and peak RSS of
# parse+render and parse+edit+render on 5 MiB and 50 MiB generated main.cf files.
# Usage: crates/postfix-conf/benches/measure.sh   (from the workspace root)
#
# Per file and mode: CPU ms (mean of 10 runs, whole process including reading the file),
# MB/s over that CPU time, and peak RSS as a multiple of the file size. The last lines give
# the 50 MiB / 5 MiB CPU-time ratio (linear is 10x; target <= 11x). The program's own
# in-process figure (parse [+ edit] + render only, wall clock) is printed as "inner".
set -eu
T=${CARGO_TARGET_DIR:-target}
cargo build --release -q -p postfix-conf --example roundtrip
R=$T/release/examples/roundtrip
D=$(mktemp -d)
trap 'rm -rf "$D"' EXIT
$R gen 5 "$D/5.cf"
$R gen 50 "$D/50.cf"

# cpu_ms FILE MODE: mean task-clock in ms (falls back to wall time without perf).
cpu_ms() {
  if command -v perf >/dev/null 2>&1; then
    perf stat -r 10 -e task-clock "$R" "$1" $2 2>&1 >/dev/null | awk '/task-clock/ {print $1}'
  else
    /usr/bin/time -f "%e" "$R" "$1" $2 2>&1 >/dev/null | awk '{print $1 * 1000}'
  fi
}

for f in "$D/5.cf" "$D/50.cf" /usr/share/postfix/main.cf.dist; do
  [ -r "$f" ] || continue
  size=$(wc -c <"$f")
  for m in --read-only "" --edit; do
    ms=$(cpu_ms "$f" "$m")
    rss=$(/usr/bin/time -f "%M" "$R" "$f" $m 2>&1 >/dev/null | tail -n 1)
    inner=$("$R" "$f" $m | sed -n 's/.* \([0-9]* MB\/s\).*/\1/p')
    echo "$(basename "$f") ${m:-parse+render}: $ms ms CPU, $size bytes" \
      | awk -v s="$size" -v ms="$ms" -v rss="$rss" -v inner="$inner" \
        '{printf "%s, %.0f MB/s CPU, peak RSS %d KB = %.2fx file, inner %s\n", $0, s / (ms / 1000) / 1e6, rss, rss * 1024 / s, inner}'
    eval "ms_$(basename "$f" .cf | tr -c 'a-z0-9\n' _)_$(echo "${m:-full}" | tr -d -)=$ms"
  done
done
for m in readonly full edit; do
  eval "a=\$ms_5_$m b=\$ms_50_$m"
  echo "linearity $m: 50 MiB / 5 MiB CPU time = $(awk -v a="$a" -v b="$b" 'BEGIN {printf "%.1fx", b / a}')"
done
