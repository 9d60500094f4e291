#!/usr/bin/env bash
# Builds (once) a minimal Debian chroot for the test suite and prints its path.
#
#   scripts/mkchroot.sh NAME SUITE [PACKAGE...]
#
# NAME     cache entry, e.g. postfix-bullseye or fresh-bookworm
# SUITE    Debian release (bullseye, bookworm, trixie)
# PACKAGE  extra packages installed into the chroot after debootstrap (--no-install-recommends)
#
# The chroot lives outside the work tree, in ${PFTLS_CHROOT_CACHE:-~/.cache/pftls/chroots}/NAME,
# so that a fresh clone (CI) on the same machine reuses it. A stamp file records the suite and
# package list; a chroot whose stamp differs (or that was left half-built) is rebuilt. A lock
# serialises concurrent builders of the same NAME. Needs root (debootstrap, chroot).
set -euo pipefail

if [ $# -lt 2 ]; then
  echo "usage: $0 NAME SUITE [PACKAGE...]" >&2
  exit 64
fi
name=$1 suite=$2
shift 2
pkgs=("$@")

cache=${PFTLS_CHROOT_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/pftls/chroots}
dir=$cache/$name
stamp_want="suite=$suite packages=${pkgs[*]:-}"
mirror=${PFTLS_DEBIAN_MIRROR:-http://deb.debian.org/debian}

if [ "$(id -u)" -ne 0 ]; then
  echo "error: building the $name chroot needs root (debootstrap)" >&2
  exit 1
fi
if ! command -v debootstrap >/dev/null 2>&1; then
  echo "installing debootstrap" >&2
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends debootstrap >/dev/null \
    || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends debootstrap >/dev/null; }
fi

mkdir -p "$cache"
exec 9>"$cache/.$name.lock"
flock -w 1800 9 || { echo "error: timed out waiting for another build of $name" >&2; exit 1; }

if [ -f "$dir/.pftls-stamp" ] && [ "$(cat "$dir/.pftls-stamp")" = "$stamp_want" ]; then
  echo "$dir"
  exit 0
fi

echo "building chroot $name ($suite${pkgs[*]:+ + ${pkgs[*]}}) in $dir" >&2
rm -rf --one-file-system "$dir"
log=$cache/$name.log
if ! debootstrap --variant=minbase "$suite" "$dir" "$mirror" >"$log" 2>&1; then
  echo "error: debootstrap $suite failed; last lines of $log:" >&2
  tail -n 20 "$log" >&2
  exit 1
fi
if [ ${#pkgs[@]} -gt 0 ]; then
  # Postfix must not configure anything or ask questions; nothing may start inside the chroot.
  printf '#!/bin/sh\nexit 101\n' >"$dir/usr/sbin/policy-rc.d"
  chmod 0755 "$dir/usr/sbin/policy-rc.d"
  echo "postfix postfix/main_mailer_type select No configuration" | chroot "$dir" debconf-set-selections
  if ! chroot "$dir" env DEBIAN_FRONTEND=noninteractive sh -c \
      "apt-get update -qq && apt-get install -y -qq --no-install-recommends $(printf '%q ' "${pkgs[@]}")" \
      >>"$log" 2>&1; then
    echo "error: installing ${pkgs[*]} into $name failed; last lines of $log:" >&2
    tail -n 20 "$log" >&2
    exit 1
  fi
  chroot "$dir" apt-get clean >/dev/null 2>&1 || true
fi
echo "$stamp_want" >"$dir/.pftls-stamp"
echo "$dir"
