#!/usr/bin/env bash
# Playbook time over the 20-host fleet with pftls vs a stub that runs no pftls (bench.py).
#   tests/ansible/bench.sh [PFTLS_BINARY] [ROUNDS]
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
# No __pycache__ in the source tree.
export PYTHONDONTWRITEBYTECODE=1
# shellcheck source=tests/ansible/venv.sh
. "$ROOT/tests/ansible/venv.sh"
ensure_venv
exec "$VENV/bin/python" "$ROOT/tests/ansible/bench.py" --pftls "${1:-$ROOT/target/debug/pftls}" --rounds "${2:-3}"
