# Sourced by run.sh and bench.sh: makes the virtualenv with the pinned ansible-core and
# ansible-lint (requirements.txt), or reuses it when it already has exactly those pins.
# Sets VENV. Returns non-zero when it cannot; the caller decides whether that fails or skips.

# Outside the work tree by default, so that a fresh clone (CI) on the same machine reuses it.
VENV=${PFTLS_ANSIBLE_VENV:-${XDG_CACHE_HOME:-$HOME/.cache}/pftls/ansible-venv}

ensure_venv() {
  local req="$ROOT/tests/ansible/requirements.txt"
  if [ -x "$VENV/bin/ansible-playbook" ] && [ -x "$VENV/bin/ansible-lint" ] \
    && cmp -s "$req" "$VENV/.pftls-requirements.txt"; then
    return 0
  fi
  echo "ansible: creating $VENV (pip install -r $req)" >&2
  rm -rf "$VENV"
  local py
  py=$(command -v python3) || { echo "ansible: python3 not found" >&2; return 1; }
  "$py" -m venv "$VENV" || return 1
  "$VENV/bin/pip" install --quiet --disable-pip-version-check -r "$req" || return 1
  # Written last: a venv whose install was interrupted is made again next time.
  cp "$req" "$VENV/.pftls-requirements.txt"
}
