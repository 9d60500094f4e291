#!/usr/bin/env bash
# System packages of the Ansible fleet test (tests/ansible/run.sh), called by `make
# test-ansible` after scripts/install-test-deps.sh: sshd (one per network namespace), the ssh
# client, sudo (become), ip (namespaces, veth, bridge) and python3-venv (ansible-core from PyPI).
# As root it installs what is missing; otherwise, or when the install fails, it names what is
# missing and fails. Never skips: a missing dependency is an error, in CI and outside it.
set -euo pipefail

need=()
have() { command -v "$1" >/dev/null 2>&1; }
[ -x /usr/sbin/sshd ] || need+=(openssh-server)
have ssh || need+=(openssh-client)
have ssh-keygen || need+=(openssh-client)
have sudo || need+=(sudo)
have ip || need+=(iproute2)
python3 -c 'import venv, ensurepip' 2>/dev/null || need+=(python3-venv)
[ ${#need[@]} -eq 0 ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
  echo "error: the Ansible fleet test needs: ${need[*]} (run as root, or: apt-get install ${need[*]})" >&2
  exit 1
fi
echo "installing Ansible fleet test dependencies: ${need[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
# The package's own sshd must not serve the machine: the test starts its own, one per
# namespace, on test addresses only.
if have systemctl; then systemctl disable --now ssh.service ssh.socket >/dev/null 2>&1 || true; fi
[ -x /usr/sbin/sshd ] && have sudo && have ip || { echo "error: still missing after install: ${need[*]}" >&2; exit 1; }
