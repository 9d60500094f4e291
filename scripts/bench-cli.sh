#!/usr/bin/env bash
# Whole-process timings of pftls beside postconf on the same stock files (Debian's
# main.cf.dist + master.cf.dist): `pftls plan -p inbound-opportunistic` and `pftls show` vs
# `postconf -c DIR -n`. Prints hyperfine's figures; not part of `make test`.
set -euo pipefail
cd "$(dirname "$0")/.."
command -v hyperfine >/dev/null || { echo "hyperfine is needed: apt-get install hyperfine" >&2; exit 1; }
cargo build --release -p pftls >/dev/null
dir=$(mktemp -d); trap 'rm -rf "$dir"' EXIT
cp /usr/share/postfix/main.cf.dist "$dir/main.cf"
cp /usr/share/postfix/master.cf.dist "$dir/master.cf"
bin=target/release/pftls
cp_dir=examples/centos-stream-10/crypto-policies
hyperfine -N --warmup 5 --runs ${RUNS:-50} \
  -n "postconf -n" "postconf -c $dir -n" \
  -n "pftls show" "$bin -c $dir show" \
  -n "pftls show --postfix-version (no postconf process)" "$bin -c $dir --postfix-version 3.7.11 show" \
  -n "pftls plan (full: impact + findings, crypto-policies DEFAULT)" "$bin -c $dir --crypto-policies-dir $cp_dir plan -p inbound-opportunistic" \
  -n "pftls plan --no-impact (crypto-policies DEFAULT)" "$bin -c $dir --crypto-policies-dir $cp_dir --postfix-version 3.7.11 plan -p inbound-opportunistic --no-impact" \
  -n "pftls plan --no-impact (tls-logging, no crypto-policies)" "$bin -c $dir --crypto-policies-dir /nonexistent --postfix-version 3.7.11 plan -p tls-logging --no-impact"
