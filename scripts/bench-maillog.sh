#!/usr/bin/env bash
# Throughput and peak memory of the pftls mail-log analyser, next to pflogsumm and grep -c,
# on the same synthetic log. Prints figures; asserts nothing (not part of `make test`).
#
#   scripts/bench-maillog.sh [SIZE_BYTES] [FORMAT]
#   env: BENCH_DIR (default /tmp/pftls-bench), CARGO_TARGET_DIR (default ./target),
#        PFLOGSUMM_SLICE (bytes given to pflogsumm, default 100 MB; its rate is extrapolated)
set -euo pipefail

SIZE=${1:-1000000000}
FORMAT=${2:-rfc3339}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
DIR=${BENCH_DIR:-/tmp/pftls-bench}
TARGET=${CARGO_TARGET_DIR:-$ROOT/target}
SLICE=${PFLOGSUMM_SLICE:-100000000}
LOG="$DIR/mail-$FORMAT-$SIZE.log"
mkdir -p "$DIR"

command -v /usr/bin/time >/dev/null || { echo "need /usr/bin/time (apt-get install time)" >&2; exit 1; }

if [ ! -s "$LOG" ]; then
  echo "generating $SIZE bytes ($FORMAT) -> $LOG"
  python3 "$ROOT/scripts/gen-maillog.py" "$FORMAT" --size "$SIZE" --seed 42 -o "$LOG" > "$LOG.expected.json"
fi
BYTES=$(stat -c %s "$LOG")

echo "building the example (release)"
(cd "$ROOT" && CARGO_TARGET_DIR="$TARGET" cargo build --release -q -p pftls-maillog --example analyze)
BIN="$TARGET/release/examples/analyze"

# Page cache warm-up so every tool reads from memory.
cat "$LOG" > /dev/null

# run NAME BYTES CMD... : prints wall s, cpu s, MB/s (wall and cpu), peak RSS
run() {
  local name=$1 bytes=$2; shift 2
  local out stdout; out=$(mktemp); stdout=$(mktemp)
  # stdout goes to a file, not /dev/null: GNU grep stops at the first match when its output
  # is /dev/null, which would make `grep -c` look instant.
  /usr/bin/time -v "$@" > "$stdout" 2> "$out" || true
  rm -f "$stdout"
  local wall user sys rss
  wall=$(awk -F': ' '/Elapsed \(wall clock\)/ {n=split($2,a,":"); s=0; for(i=1;i<=n;i++) s=s*60+a[i]; print s}' "$out")
  user=$(awk -F': ' '/User time/ {print $2}' "$out")
  sys=$(awk -F': ' '/System time/ {print $2}' "$out")
  rss=$(awk -F': ' '/Maximum resident set size/ {print $2}' "$out")
  python3 - "$name" "$bytes" "$wall" "$user" "$sys" "$rss" <<'PY'
import sys
name, b, wall, user, sys_, rss = sys.argv[1:]
b, wall, cpu, rss = int(b), float(wall), float(user) + float(sys_), int(rss)
mb = b / 1e6
print(f"{name:<34} {mb:9.0f} MB  wall {wall:7.2f} s ({mb / max(wall, 1e-9):7.0f} MB/s)"
      f"  cpu {cpu:7.2f} s ({mb / max(cpu, 1e-9):7.0f} MB/s)  peak RSS {rss / 1024:7.1f} MiB")
PY
  rm -f "$out"
}

echo
echo "machine: $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg) (other jobs skew wall time; cpu time is the steadier figure)"
echo "input: $LOG ($BYTES bytes, $(wc -l < "$LOG") lines)"
echo
run "pftls analyze (1 thread)" "$BYTES" "$BIN" "$LOG"
run "pftls analyze (1 thread, again)" "$BYTES" "$BIN" "$LOG"
GZ="$LOG.gz"
if [ ! -s "$GZ" ]; then gzip -1 -c "$LOG" > "$GZ"; fi
run "pftls analyze gzip input" "$BYTES" "$BIN" "$GZ"
run "grep -c postfix/" "$BYTES" grep -c 'postfix/' "$LOG"
head -c "$SLICE" "$LOG" | sed '$d' > "$DIR/slice.log"
SB=$(stat -c %s "$DIR/slice.log")
run "pflogsumm ($((SB / 1000000)) MB slice)" "$SB" pflogsumm "$DIR/slice.log"
echo
echo "pflogsumm ran on a $((SB / 1000000)) MB slice; its MB/s is extrapolated to the full size."
echo "gzip row: MB/s is of uncompressed bytes."
