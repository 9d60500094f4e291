#!/usr/bin/env bash
# Installs what the test suite needs (Debian packages; ansible-core into a venv is handled by
# tests/ansible). Run as root it installs what is missing; otherwise it reports what is missing.
# A missing dependency is always an error: the suite never skips silently.
set -euo pipefail

need_pkgs=()
have() { command -v "$1" >/dev/null 2>&1; }
pkg_installed() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q "install ok installed"; }

have postconf   || need_pkgs+=(postfix)
have swaks      || need_pkgs+=(swaks)
have openssl    || need_pkgs+=(openssl)
have pflogsumm  || need_pkgs+=(pflogsumm)
have rpm        || need_pkgs+=(rpm)
have pkg-config || need_pkgs+=(pkg-config)
have man        || need_pkgs+=(man-db)
have strip      || need_pkgs+=(binutils)
have gzip       || need_pkgs+=(gzip)
have hyperfine  || need_pkgs+=(hyperfine)
# `logs --journal` test: writes a real journal file with systemd-journal-remote.
[ -x /lib/systemd/systemd-journal-remote ] || need_pkgs+=(systemd-journal-remote)
pkg_installed libssl-dev || need_pkgs+=(libssl-dev)
python3 -c 'import venv, ensurepip' 2>/dev/null || need_pkgs+=(python3-venv)

if [ ${#need_pkgs[@]} -eq 0 ]; then
  exit 0
fi

if [ "$(id -u)" -ne 0 ]; then
  echo "error: missing test dependencies: ${need_pkgs[*]} (run 'make test' as root to install them, or: apt-get install ${need_pkgs[*]})" >&2
  exit 1
fi

echo "installing test dependencies: ${need_pkgs[*]}" >&2
# Postfix must not ask questions nor configure /etc/postfix: "No configuration".
echo "postfix postfix/main_mailer_type select No configuration" | debconf-set-selections
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${need_pkgs[@]}" >/dev/null
# The daemon is started by the end-to-end tests themselves, on their own port and directories.
if have systemctl; then systemctl disable --now postfix >/dev/null 2>&1 || true; fi
for p in postconf swaks openssl; do
  have "$p" || { echo "error: $p still missing after install" >&2; exit 1; }
done
