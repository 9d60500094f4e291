# Sourced by run.sh and bench.sh: makes the virtualenvs with the pinned tools, or reuses them
# when they already have exactly those pins. Returns non-zero when it cannot; the caller
# decides whether that fails or skips.
#   VENV         ansible-core and ansible-lint (requirements.txt)
#   SANITY_VENV  ansible-core and the sanity tools of ansible-test (requirements-sanity.txt)

# Outside the work tree by default, so that a fresh clone (CI) on the same machine reuses them.
VENV=${PFTLS_ANSIBLE_VENV:-${XDG_CACHE_HOME:-$HOME/.cache}/pftls/ansible-venv}
SANITY_VENV=${PFTLS_ANSIBLE_TEST_VENV:-${XDG_CACHE_HOME:-$HOME/.cache}/pftls/ansible-test-venv}

# make_venv DIR REQUIREMENTS PROGRAM: the virtualenv DIR with REQUIREMENTS, checked by PROGRAM.
make_venv() {
  local dir=$1 req=$2 program=$3
  if [ -x "$dir/bin/$program" ] && cmp -s "$req" "$dir/.pftls-requirements.txt"; then
    return 0
  fi
  echo "ansible: creating $dir (pip install -r $req)" >&2
  rm -rf "$dir"
  local py
  py=$(command -v python3) || { echo "ansible: python3 not found" >&2; return 1; }
  "$py" -m venv "$dir" || return 1
  "$dir/bin/pip" install --quiet --disable-pip-version-check -r "$req" || return 1
  # Written last: a venv whose install was interrupted is made again next time.
  cp "$req" "$dir/.pftls-requirements.txt"
}

ensure_venv() {
  make_venv "$VENV" "$ROOT/tests/ansible/requirements.txt" ansible-lint &&
    make_venv "$SANITY_VENV" "$ROOT/tests/ansible/requirements-sanity.txt" ansible-test
}
