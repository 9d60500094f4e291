#!/usr/bin/env bash
# What pftls adds per host to a playbook run over the ssh fleet (bench.py). Needs root.
#   tests/ansible/bench.sh [PFTLS_BINARY] [ROUNDS]
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
export PYTHONDONTWRITEBYTECODE=1
# shellcheck source=tests/ansible/venv.sh
. "$ROOT/tests/ansible/venv.sh"
# shellcheck source=tests/ansible/sshfleet.sh
. "$ROOT/tests/ansible/sshfleet.sh"
ensure_venv
FLEET=$(mktemp -d /tmp/pftls-ansible-bench-XXXXXX)
CHILD=
trap 'sshfleet_down "$FLEET"; rm -rf "$FLEET"' EXIT
# Waited for in the background, so that INT/TERM run the traps at once (see run.sh).
trap '[ -z "$CHILD" ] || kill "$CHILD" 2>/dev/null; exit 130' INT TERM
sshfleet_up "$FLEET" "${PFTLS_ANSIBLE_HOSTS:-10}"
"$VENV/bin/python" "$ROOT/tests/ansible/bench.py" --pftls "${1:-$ROOT/target/debug/pftls}" \
  --fleet "$FLEET" --controller-ns "$(sshfleet_ns "$FLEET" ctl)" --rounds "${2:-3}" &
CHILD=$!
wait "$CHILD"
