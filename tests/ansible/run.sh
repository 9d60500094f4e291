#!/usr/bin/env bash
# Ansible tests of examples/ansible: real ansible-core (pinned, in a virtualenv under
# ~/.cache/pftls/ansible-venv, reused when present) over a 20-host local fleet. See test_fleet.py.
#   tests/ansible/run.sh [PFTLS_BINARY]     (default target/debug/pftls)
# Outside CI a failure to make the virtualenv (no network, no python3-venv) skips the test
# loudly; with CI=true it fails.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
# No __pycache__ in the source tree.
export PYTHONDONTWRITEBYTECODE=1
# shellcheck source=tests/ansible/venv.sh
. "$ROOT/tests/ansible/venv.sh"
PFTLS=${1:-$ROOT/target/debug/pftls}

if [ ! -x "$PFTLS" ]; then
  echo "ansible: pftls binary $PFTLS not found (cargo build -p pftls)" >&2
  exit 1
fi
command -v postconf >/dev/null || { echo "ansible: postconf not found (apt-get install postfix)" >&2; exit 1; }

if ! ensure_venv; then
  if [ "${CI:-}" = "true" ]; then
    echo "ansible: FAILED to set up ansible-core in $VENV" >&2
    exit 1
  fi
  echo "ansible: SKIPPED: could not set up ansible-core in $VENV (set CI=true to make this fatal)" >&2
  exit 0
fi
exec "$VENV/bin/python" "$ROOT/tests/ansible/test_fleet.py" --pftls "$PFTLS"
