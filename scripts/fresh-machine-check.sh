#!/usr/bin/env bash
# Fresh-machine check: proves that scripts/install-test-deps.sh turns a minimal Debian into a
# machine the test suite can run on, without trusting whatever the build machine has installed.
#
#   scripts/fresh-machine-check.sh [SUITE]      (default bookworm; run by `make test-fresh`)
#
# 1. Takes the cached minimal debootstrap chroot (scripts/mkchroot.sh fresh-SUITE SUITE, no
#    extra packages) and works on a throw-away copy of it (an overlay mount, or `cp -a` where
#    overlayfs is not available), so the cached chroot stays pristine for the next run.
# 2. In the copy: `install-test-deps.sh --check` must FAIL on the bare system (the check can
#    fail, and names swaks/postfix as missing); then the README's "Set up" block runs as root,
#    verbatim (apt-get update, build-essential, rustup-init), and must leave a cargo whose rustc
#    meets rust-version and that builds a crate against the system OpenSSL (openssl-sys: cc,
#    pkg-config, libssl-dev); then `install-test-deps.sh` (apt-get update, install, capability
#    checks: swaks STARTTLS, postconf, openssl s_server, venv, ...) must pass; then `--check`
#    must pass again.
# 3. Removes swaks's Net::SSLeay from the copy and requires `--check` to fail with the STARTTLS
#    message: the capability check catches the exact breakage of issue 17.
#
# Downloaded .debs are kept in ${PFTLS_CHROOT_CACHE:-~/.cache/pftls/chroots}/apt-archives-SUITE
# (bind-mounted as the copy's apt cache), so later runs install from it instead of the network.
# Needs root (chroot, mounts). Not root: an error with CI=true, a loud skip otherwise.
set -euo pipefail

suite=${1:-bookworm}
repo=$(cd "$(dirname "$0")/.." && pwd)
ci=${CI:-false}
start=$(date +%s)

if [ "$(id -u)" -ne 0 ]; then
  if [ "$ci" = true ]; then
    echo "FAIL: the fresh-machine check needs root (chroot, mounts); CI=true makes this fatal" >&2
    exit 1
  fi
  echo "SKIP: the fresh-machine check needs root (chroot, mounts)" >&2
  exit 0
fi

base=$(bash "$repo/scripts/mkchroot.sh" "fresh-$suite" "$suite" | tail -n 1)
[ -f "$base/.pftls-stamp" ] || { echo "error: no chroot at $base" >&2; exit 1; }
cache=${PFTLS_CHROOT_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/pftls/chroots}
archives=$cache/apt-archives-$suite
mkdir -p "$archives/partial"
# One check per suite at a time: the copies share the .deb cache, and apt locks it.
exec 8>"$cache/.fresh-check-$suite.lock"
flock -w 1800 8 || { echo "error: timed out waiting for another fresh-machine check" >&2; exit 1; }

tmp=$(mktemp -d /var/tmp/pftls-fresh.XXXXXX)
root=$tmp/root
mounts=()
cleanup() {
  local i
  for ((i = ${#mounts[@]} - 1; i >= 0; i--)); do
    umount -l "${mounts[$i]}" 2>/dev/null || true
  done
  # Only after every mount is gone: never delete through a bind mount.
  if ! grep -qF " $tmp/" /proc/self/mounts; then rm -rf --one-file-system "$tmp"; else
    echo "warning: mounts left under $tmp; not removing it" >&2
  fi
}
trap cleanup EXIT

mkdir -p "$root" "$tmp/upper" "$tmp/work"
if mount -t overlay overlay -o "lowerdir=$base,upperdir=$tmp/upper,workdir=$tmp/work" "$root" 2>/dev/null; then
  mounts+=("$root")
  how=overlay
else
  cp -a "$base/." "$root/"
  how="cp -a"
fi
echo "fresh-machine check: $suite chroot copy ($how) at $root" >&2

# dpkg without fsync: the copy is thrown away, so crash safety buys nothing and costs minutes on
# a busy disk. It changes no package and no configuration the checks look at.
echo force-unsafe-io >"$root/etc/dpkg/dpkg.cfg.d/pftls-unsafe-io"
# Nothing installed in the copy may start a daemon (postfix's postinst would try).
printf '#!/bin/sh\nexit 101\n' >"$root/usr/sbin/policy-rc.d"
chmod 0755 "$root/usr/sbin/policy-rc.d"
for m in proc dev dev/pts; do mkdir -p "$root/$m"; done
mount -t proc proc "$root/proc" && mounts+=("$root/proc")
mount --bind /dev "$root/dev" && mounts+=("$root/dev")
mount --bind /dev/pts "$root/dev/pts" && mounts+=("$root/dev/pts")
mount --bind "$archives" "$root/var/cache/apt/archives" && mounts+=("$root/var/cache/apt/archives")
cp /etc/resolv.conf "$root/etc/resolv.conf" 2>/dev/null || true
# The network's local trust anchors (a site CA, a TLS-inspecting egress proxy): a fresh machine
# on this network would be given them too. Only certificates from the admin's local CA
# directory; no package state of the build machine. ca-certificates picks them up when the
# README block installs it.
if compgen -G "/usr/local/share/ca-certificates/*.crt" >/dev/null; then
  mkdir -p "$root/usr/local/share/ca-certificates"
  cp /usr/local/share/ca-certificates/*.crt "$root/usr/local/share/ca-certificates/"
fi
install -m 0755 "$repo/scripts/install-test-deps.sh" "$root/root/install-test-deps.sh"

# in_chroot CMD...: runs CMD in the copy with a clean environment, at most 20 minutes.
in_chroot() {
  timeout 1200 chroot "$root" /usr/bin/env -i HOME=/root LANG=C.UTF-8 CI="$ci" \
    PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin "$@"
}

failures=0
fail() { echo "FAIL: $*" >&2; failures=$((failures + 1)); }
pass() { echo "ok:   $*"; }

echo "== bare $suite: install-test-deps.sh --check must fail"
if out=$(in_chroot bash /root/install-test-deps.sh --check 2>&1); then
  fail "--check passed on a bare minimal $suite (it cannot be checking anything)"
else
  for needle in "package swaks is not installed" "package postfix is not installed" \
                "package libnet-ssleay-perl is not installed"; do
    if grep -qF "$needle" <<<"$out"; then pass "bare system: '$needle'"
    else fail "bare system: '$needle' not reported; got: $(head -c 600 <<<"$out")"; fi
  done
fi

echo "== README 'Set up' block, verbatim, as root"
# The first ```sh block after the "## Set up" heading.
awk '/^## Set up/{s=1; next} s && /^```sh/{b=1; next} b && /^```/{exit} b' "$repo/README.md" \
  >"$root/root/readme-setup.sh"
if [ ! -s "$root/root/readme-setup.sh" ]; then
  fail "no sh block under '## Set up' in README.md"
else
  t0=$(date +%s)
  if out=$(in_chroot bash -eo pipefail /root/readme-setup.sh 2>&1); then
    pass "README set-up block ran on a fresh $suite ($(($(date +%s) - t0)) s)"
  else
    fail "README set-up block failed on a fresh $suite:"
    tail -n 30 <<<"$out" >&2
  fi
  want_rust=$(sed -n 's/^rust-version = "\(.*\)"/\1/p' "$repo/Cargo.toml")
  have_rust=$(in_chroot /root/.cargo/bin/rustc --version 2>/dev/null | awk '{print $2}') || true
  if [ -n "$have_rust" ] && [ "$(printf '%s\n%s\n' "$want_rust" "$have_rust" | sort -V | head -n1)" = "$want_rust" ]; then
    pass "rustc $have_rust >= rust-version $want_rust"
  else fail "rustc after the README set-up is '${have_rust:-missing}', rust-version is $want_rust"; fi
  # The build prerequisites the README names are enough for openssl-sys (cc, pkg-config and
  # the headers): build a crate that links the system libssl.
  mkdir -p "$root/root/ossl-probe/src"
  printf '[package]\nname = "ossl-probe"\nversion = "0.0.0"\nedition = "2021"\n\n[dependencies]\nopenssl-sys = "0.9"\n' \
    >"$root/root/ossl-probe/Cargo.toml"
  printf 'fn main() { unsafe { openssl_sys::init() }; println!("linked"); }\n' \
    >"$root/root/ossl-probe/src/main.rs"
  t0=$(date +%s)
  if out=$(in_chroot sh -c 'cd /root/ossl-probe && /root/.cargo/bin/cargo run --quiet' 2>&1) &&
     grep -q '^linked$' <<<"$out"; then
    pass "a crate linking the system OpenSSL (openssl-sys) builds and runs ($(($(date +%s) - t0)) s)"
  else
    fail "openssl-sys does not build with the README's prerequisites: $(tail -n 15 <<<"$out")"
  fi
fi

echo "== install-test-deps.sh (apt-get update, install, capability checks)"
t0=$(date +%s)
if out=$(in_chroot bash /root/install-test-deps.sh 2>&1); then
  pass "install-test-deps.sh installed and checked everything ($(($(date +%s) - t0)) s)"
else
  fail "install-test-deps.sh failed on a fresh $suite:"
  echo "$out" | tail -n 40 >&2
fi

echo "== capabilities, checked again inside the chroot"
if out=$(in_chroot bash /root/install-test-deps.sh --check 2>&1); then
  pass "install-test-deps.sh --check passes after the install"
else
  fail "--check fails right after a successful install: $(tail -n 20 <<<"$out")"
fi
# The capabilities the suite leans on most, checked here independently of the script.
if in_chroot swaks --support 2>&1 | grep -q "TLS supported"; then pass "swaks reports TLS support"
else fail "swaks --support does not report TLS support"; fi
if v=$(in_chroot postconf -d -h mail_version 2>/dev/null) && [[ "$v" =~ ^[0-9]+\.[0-9]+ ]]; then
  pass "postconf runs (Postfix $v)"
else fail "postconf -d -h mail_version failed in the chroot"; fi
if in_chroot test ! -e /etc/postfix/main.cf; then pass "postfix installed with 'No configuration'"
else fail "installing postfix wrote /etc/postfix/main.cf (debconf preseed ignored)"; fi

echo "== negative: swaks without Net::SSLeay must be caught"
if in_chroot dpkg -r --force-depends libio-socket-ssl-perl libnet-ssleay-perl >/dev/null 2>&1; then
  if out=$(in_chroot bash /root/install-test-deps.sh --check 2>&1); then
    fail "--check passed although swaks has no Net::SSLeay"
  elif grep -qF "swaks cannot do STARTTLS" <<<"$out"; then
    pass "--check names the broken swaks STARTTLS"
  else fail "--check failed, but not with the STARTTLS message: $(tail -n 10 <<<"$out")"; fi
else
  fail "could not remove libnet-ssleay-perl in the chroot copy"
fi

echo
elapsed=$(($(date +%s) - start))
if [ $failures -gt 0 ]; then
  echo "fresh-machine check ($suite): $failures failure(s) in ${elapsed}s" >&2
  exit 1
fi
echo "fresh-machine check ($suite): all checks passed in ${elapsed}s"
