#!/usr/bin/env bash
# Builds (once, cached outside the work tree by scripts/mkchroot.sh) the three real-postconf
# oracles the test suite compares pftls with, and prints their paths, oldest first:
#   postfix-bullseye  Debian 11, Postfix 3.5
#   postfix-bookworm  Debian 12, Postfix 3.7
#   postfix-trixie    Debian 13, Postfix 3.10
# Called by `make test-deps`; a failure here fails the suite (the oracle tests never skip
# under CI=true).
set -euo pipefail
cd "$(dirname "$0")/.."
for spec in "postfix-bullseye bullseye" "postfix-bookworm bookworm" "postfix-trixie trixie"; do
  read -r name suite <<<"$spec"
  dir=$(bash scripts/mkchroot.sh "$name" "$suite" postfix)
  if [ ! -x "$dir/usr/sbin/postconf" ]; then
    echo "error: $dir has no /usr/sbin/postconf" >&2
    exit 1
  fi
  echo "$dir"
done
