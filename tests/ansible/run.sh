#!/usr/bin/env bash
# Ansible tests of the pftls.postfix collection and examples/ansible: real ansible-core (pinned,
# virtualenvs under ~/.cache/pftls, reused when present) over a fleet of hosts reached by real
# SSH, each a network namespace with its own sshd and address (sshfleet.sh). See test_fleet.py.
#   tests/ansible/run.sh [PFTLS_BINARY]     (default target/debug/pftls; needs root)
# Outside CI a failure to make the virtualenvs (no network) skips the test loudly; with CI=true
# it fails. The namespaces, the sshd processes and the login user are removed on every exit.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
# No __pycache__ in the source tree.
export PYTHONDONTWRITEBYTECODE=1
# shellcheck source=tests/ansible/venv.sh
. "$ROOT/tests/ansible/venv.sh"
# shellcheck source=tests/ansible/sshfleet.sh
. "$ROOT/tests/ansible/sshfleet.sh"
PFTLS=${1:-$ROOT/target/debug/pftls}
HOSTS=${PFTLS_ANSIBLE_HOSTS:-10}

[ -x "$PFTLS" ] || { echo "ansible: pftls binary $PFTLS not found (cargo build -p pftls)" >&2; exit 1; }
command -v postconf >/dev/null || { echo "ansible: postconf not found (apt-get install postfix)" >&2; exit 1; }
[ "$(id -u)" -eq 0 ] || { echo "ansible: the ssh fleet test needs root (network namespaces)" >&2; exit 1; }

if ! ensure_venv; then
  if [ "${CI:-}" = "true" ]; then
    echo "ansible: FAILED to set up ansible-core in $VENV / $SANITY_VENV" >&2
    exit 1
  fi
  echo "ansible: SKIPPED: could not set up ansible-core in $VENV (set CI=true to make this fatal)" >&2
  exit 0
fi
# ansible-test bootstraps pip into its sanity virtualenvs with a get-pip.py script downloaded
# from ci-files.testing.ansible.com; get-pip-shim.py does the same from PyPI (see there).
PIP_VERSION=$(grep -o "pip='[0-9.]*'" "$SANITY_VENV"/lib/python3*/site-packages/ansible_test/_internal/python_requirements.py | head -n1 | tr -dc '0-9.')
mkdir -p "$HOME/.ansible/test/cache"
cp "$ROOT/tests/ansible/get-pip-shim.py" "$HOME/.ansible/test/cache/get_pip_${PIP_VERSION//./_}.py"

FLEET=$(mktemp -d /tmp/pftls-ansible-XXXXXX)
cleanup() {
  local rc=$?
  sshfleet_down "$FLEET"
  if [ "$rc" -eq 0 ]; then rm -rf "$FLEET"; else echo "     kept $FLEET" >&2; fi
  exit "$rc"
}
CHILD=
trap cleanup EXIT
# bash runs a trap only once its foreground command ends: the driver runs in the background and
# is waited for, so that INT/TERM stop it (and sshfleet_down the playbooks in the namespaces).
trap '[ -z "$CHILD" ] || kill "$CHILD" 2>/dev/null; exit 130' INT TERM
sshfleet_up "$FLEET" "$HOSTS"
"$VENV/bin/python" "$ROOT/tests/ansible/test_fleet.py" --pftls "$PFTLS" --fleet "$FLEET" \
  --controller-ns "$(sshfleet_ns "$FLEET" ctl)" --sanity-bin "$SANITY_VENV/bin" &
CHILD=$!
wait "$CHILD"
