#!/usr/bin/env bash
# Throughput, instructions per byte and peak memory of the pftls mail-log analyser, next to
# `grep -c` and pflogsumm on the same synthetic log, printed as one table. Asserts nothing
# (not part of `make test`).
#
#   scripts/bench-maillog.sh [SIZE_BYTES] [FORMAT]
#   env: BENCH_DIR (default /tmp/pftls-bench), CARGO_TARGET_DIR (default ./target),
#        PFLOGSUMM_SLICE (bytes given to pflogsumm, default 100 MB; extrapolated to the size),
#        INSTR_SLICE (bytes counted under cachegrind for pftls and grep, default 50 MB),
#        PFLOGSUMM_INSTR_SLICE (bytes counted under cachegrind for pflogsumm, default 5 MB),
#        NO_CACHEGRIND=1 (skip the instruction counts)
#
# Figures: CPU time is user+sys from /usr/bin/time -v: on a shared, loaded machine it is far
# steadier than wall time (shown too). Instructions per byte come from valgrind's cachegrind
# on a slice, the steadiest figure of all (independent of load and clock speed).
set -euo pipefail

SIZE=${1:-1000000000}
FORMAT=${2:-rfc3339}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
DIR=${BENCH_DIR:-/tmp/pftls-bench}
TARGET=${CARGO_TARGET_DIR:-$ROOT/target}
SLICE=${PFLOGSUMM_SLICE:-100000000}
ISLICE=${INSTR_SLICE:-50000000}
PSLICE=${PFLOGSUMM_INSTR_SLICE:-5000000}
LOG="$DIR/mail-$FORMAT-$SIZE.log"
mkdir -p "$DIR"

command -v /usr/bin/time >/dev/null || { echo "need /usr/bin/time (apt-get install time)" >&2; exit 1; }
command -v pflogsumm >/dev/null || { echo "need pflogsumm (apt-get install pflogsumm)" >&2; exit 1; }

if [ ! -s "$LOG" ]; then
  echo "generating $SIZE bytes ($FORMAT) -> $LOG"
  python3 "$ROOT/scripts/gen-maillog.py" "$FORMAT" --size "$SIZE" --seed 42 -o "$LOG" > "$LOG.expected.json"
fi
BYTES=$(stat -c %s "$LOG")

echo "building the example (release)"
(cd "$ROOT" && CARGO_TARGET_DIR="$TARGET" cargo build --release -q -p pftls-maillog --example analyze)
BIN="$TARGET/release/examples/analyze"

# Slices: whole lines only.
head -c "$SLICE" "$LOG" | sed '$d' > "$DIR/slice.log"
head -c "$ISLICE" "$LOG" | sed '$d' > "$DIR/islice.log"
head -c "$PSLICE" "$LOG" | sed '$d' > "$DIR/pslice.log"
GZ="$LOG.gz"
if [ ! -s "$GZ" ]; then gzip -1 -c "$LOG" > "$GZ"; fi
# Page cache warm-up so every tool reads from memory.
cat "$LOG" "$GZ" > /dev/null

ROWS=$(mktemp)
trap 'rm -f "$ROWS"' EXIT

# instr FILE CMD... : instructions per byte of FILE for CMD (cachegrind), or "-"
instr() {
  local file=$1; shift
  if [ -n "${NO_CACHEGRIND:-}" ] || ! command -v valgrind >/dev/null; then echo "-"; return; fi
  local err; err=$(mktemp)
  valgrind --tool=cachegrind --cache-sim=no --cachegrind-out-file=/dev/null "$@" > "$err.out" 2> "$err" || true
  local ir; ir=$(awk '/I +refs:/ {gsub(",","",$4); print $4}' "$err")
  rm -f "$err" "$err.out"
  python3 -c "import sys; print(f'{int(sys.argv[1]) / int(sys.argv[2]):.2f}')" "${ir:-0}" "$(stat -c %s "$file")"
}

# run NAME BYTES FULL_BYTES IPB CMD... : one table row (FULL_BYTES > BYTES = extrapolated)
run() {
  local name=$1 bytes=$2 full=$3 ipb=$4; shift 4
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
  rm -f "$out"
  echo "$name|$bytes|$full|$wall|$user|$sys|$rss|$ipb" >> "$ROWS"
}

echo "measuring (instruction counts under cachegrind first; this takes a few minutes)"
IPB_PFTLS=$(instr "$DIR/islice.log" "$BIN" "$DIR/islice.log")
IPB_GREP=$(instr "$DIR/islice.log" grep -c 'postfix/' "$DIR/islice.log")
IPB_PFLOG=$(instr "$DIR/pslice.log" pflogsumm "$DIR/pslice.log")
SB=$(stat -c %s "$DIR/slice.log")
run "pftls analyze (1 thread)" "$BYTES" "$BYTES" "$IPB_PFTLS" "$BIN" "$LOG"
run "pftls analyze (1 thread, again)" "$BYTES" "$BYTES" "$IPB_PFTLS" "$BIN" "$LOG"
run "pftls analyze, gzip input" "$BYTES" "$BYTES" "-" "$BIN" "$GZ"
run "grep -c postfix/" "$BYTES" "$BYTES" "$IPB_GREP" grep -c 'postfix/' "$LOG"
run "pflogsumm ($((SB / 1000000)) MB slice)" "$SB" "$BYTES" "$IPB_PFLOG" pflogsumm "$DIR/slice.log"

echo
echo "machine: $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg) (other jobs skew wall time; cpu time is the steadier figure)"
echo "input: $LOG ($BYTES bytes, $(wc -l < "$LOG") lines, format $FORMAT)"
echo
python3 - "$ROWS" <<'PY'
import sys
rows = [l.rstrip("\n").split("|") for l in open(sys.argv[1]) if l.strip()]
hdr = f"{'tool':<32} {'MB':>6} {'instr/B':>7} {'cpu s':>8} {'MB/s cpu':>9} {'wall s':>8} {'MB/s wall':>9} {'peak RSS':>10} {'cpu s @full':>11}"
print(hdr)
print("-" * len(hdr))
for name, b, full, wall, user, sys_, rss, ipb in rows:
    b, full, wall, cpu, rss = int(b), int(full), float(wall), float(user) + float(sys_), int(rss)
    mb = b / 1e6
    est = cpu * full / b
    mark = "*" if full != b else " "
    print(f"{name:<32} {mb:6.0f} {ipb:>7} {cpu:8.2f} {mb / max(cpu, 1e-9):9.0f} {wall:8.2f}"
          f" {mb / max(wall, 1e-9):9.0f} {rss / 1024:7.1f} MiB {est:10.1f}{mark}")
PY
echo
echo "instr/B: instructions per input byte under cachegrind (pftls, grep: $((ISLICE / 1000000)) MB slice;"
echo "  pflogsumm: $((PSLICE / 1000000)) MB slice). MB/s cpu = bytes / (user+sys). gzip row: MB of uncompressed bytes."
echo "* pflogsumm ran on a $((SB / 1000000)) MB slice; 'cpu s @full' extrapolates it linearly to $((BYTES / 1000000)) MB."
