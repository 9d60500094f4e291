#!/usr/bin/env bash
# Installs what `make test` needs on Debian/Ubuntu and then checks that it WORKS: not that a
# binary exists, but that swaks can really do STARTTLS, postconf runs, openssl s_server serves a
# handshake, python3 can make a virtualenv, lintian and rpm run, and so on.
#
#   scripts/install-test-deps.sh            install what is missing (as root), then check
#   scripts/install-test-deps.sh --check    only check; install nothing
#
# Run as root it installs the missing packages (apt-get update first); otherwise it names them
# with the apt-get command to run. A missing package or a failed capability check is always an
# error (exit 1, one clear line per problem): the suite never skips silently. With CI=true the
# message says so, too.
#
# Packages are installed with --no-install-recommends, so every package a test needs is listed
# by name, including the ones a normal install would only pull in as Recommends (swaks's
# Net::SSLeay for STARTTLS is the classic).
#
# Area sections: an area with extra test dependencies adds its packages with `want PKG WHY`
# and its checks as a `check_*` function called from run_checks, each between its own
# "BEGIN area" / "END area" markers, so that merges stay simple. The Rust toolchain itself
# (rustup, cargo) is a build prerequisite named in the README, not installed here.
set -euo pipefail

mode=install
case "${1:-}" in
  "") ;;
  --check) mode=check ;;
  -h | --help)
    sed -n '2,22p' "$0" | sed 's/^# \{0,1\}//'
    exit 0
    ;;
  *)
    echo "usage: $0 [--check]" >&2
    exit 64
    ;;
esac

ci=${CI:-false}
pkgs=()
declare -A why=()
# want PKG WHY: PKG must be installed (WHY says which test needs it).
want() { pkgs+=("$1"); why[$1]=$2; }

# ---- packages ------------------------------------------------------------------------------
# Building the workspace (cargo build needs a C compiler for openssl-sys, and the headers).
want build-essential "cc and make: building openssl-sys and running make"
want pkg-config "openssl-sys finds libssl"
want libssl-dev "openssl-sys links the system libssl"
# Real Postfix, real OpenSSL, real SMTP client (crates/pftls/tests/e2e_postfix.rs and others).
want postfix "postconf oracle tests and the real-Postfix end-to-end test"
want openssl "certificates, s_server/s_client in the tls and e2e tests"
want swaks "SMTP client of the end-to-end test"
want libnet-ssleay-perl "swaks STARTTLS (only a Recommends of swaks)"
want libio-socket-ssl-perl "swaks STARTTLS over IO::Socket::SSL"
want ca-certificates "openssl's default trust store"
# Mail-log analytics: the comparison with pflogsumm and the generator.
want pflogsumm "maillog comparison tests"
want libdate-calc-perl "pflogsumm's Date::Calc"
want python3 "scripts/gen-maillog.py and tests/ansible"
want python3-venv "tests/ansible makes a virtualenv for ansible-core"
want gzip "gzip-compressed mail logs"
want zsh "the zsh completion test (policy names, snapshot ids)"
want fish "the fish completion test (policy names, snapshot ids)"
want systemd-journal-remote "logs --journal test writes a real journal file (systemd-journal-remote) and reads it with journalctl"
# Files and transactions: chattr +i in the txn tests, mount/umount, timeout, sha256sum.
want e2fsprogs "chattr in the txn tests"
want util-linux "mount, umount, flock, unshare (the postmulti test runs in a private mount namespace)"
want mount "mount/umount (the postmulti test bind-mounts its own /etc/postfix)"
want coreutils "timeout, sha256sum"
# Packaging (make test-packaging): cargo-deb needs dpkg-shlibdeps; the .deb is checked with
# lintian, installed with dpkg and read with man; the .rpm is inspected with rpm.
want dpkg-dev "cargo-deb computes Depends with dpkg-shlibdeps"
want lintian "make test-packaging lints the .deb"
want man-db "make test-packaging reads the installed man pages"
want rpm "make test-packaging inspects and installs the .rpm"
want binutils "strip and readelf for the .rpm binary"
# Benchmarks and the fresh-machine check.
want hyperfine "make bench (scripts/bench-*.sh)"
want debootstrap "scripts/mkchroot.sh: version oracles and the fresh-machine check"
want debian-archive-keyring "debootstrap verifies the Debian archive"
# ---- BEGIN area packages (other areas add `want` lines here) ------------------------------
# ---- END area packages ---------------------------------------------------------------------

problems=()
problem() { problems+=("$1"); }
have() { command -v "$1" >/dev/null 2>&1; }

# ---- install -------------------------------------------------------------------------------
pkg_installed() {
  [ "$(dpkg-query -W -f='${Status}' "$1" 2>/dev/null)" = "install ok installed" ]
}

install_missing() {
  if ! have dpkg-query || ! have apt-get; then
    echo "note: not a Debian/Ubuntu system; install the equivalents of: ${pkgs[*]}" >&2
    return 0
  fi
  local missing=() p
  for p in "${pkgs[@]}"; do pkg_installed "$p" || missing+=("$p"); done
  [ ${#missing[@]} -eq 0 ] && return 0
  if [ "$mode" = check ] || [ "$(id -u)" -ne 0 ]; then
    for p in "${missing[@]}"; do problem "package $p is not installed (${why[$p]})"; done
    problem "install them as root: apt-get update && apt-get install --no-install-recommends ${missing[*]}"
    return 0
  fi
  echo "installing test dependencies: ${missing[*]}" >&2
  # Postfix must not ask questions nor write /etc/postfix: "No configuration". The tests start
  # their own instances on their own ports and directories.
  echo "postfix postfix/main_mailer_type select No configuration" | debconf-set-selections
  export DEBIAN_FRONTEND=noninteractive
  if ! apt-get update -qq; then
    problem "apt-get update failed (network or sources.list?)"
    return 0
  fi
  if ! apt-get install -y -qq --no-install-recommends "${missing[@]}" >/tmp/pftls-apt.$$.log 2>&1; then
    tail -n 20 /tmp/pftls-apt.$$.log >&2
    problem "apt-get install ${missing[*]} failed (log above)"
  fi
  rm -f /tmp/pftls-apt.$$.log
  if have systemctl && [ -d /run/systemd/system ]; then
    systemctl disable --now postfix >/dev/null 2>&1 || true
  fi
  for p in "${missing[@]}"; do
    pkg_installed "$p" || problem "package $p still not installed after apt-get install"
  done
}

# ---- capability checks ---------------------------------------------------------------------
work=$(mktemp -d)
server_pids=()
cleanup() {
  local pid
  for pid in "${server_pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${server_pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT

# A free TCP port on 127.0.0.1 (the kernel picks it).
free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# Waits (at most 10 s) until something listens on 127.0.0.1:$1.
wait_port() {
  local i
  for i in $(seq 1 100); do
    python3 -c 'import socket,sys; socket.create_connection(("127.0.0.1",int(sys.argv[1])),0.2).close()' \
      "$1" 2>/dev/null && return 0
    sleep 0.1
  done
  return 1
}

# One self-signed test certificate, shared by the TLS checks.
make_cert() {
  [ -f "$work/cert.pem" ] && return 0
  openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=localhost \
    -keyout "$work/key.pem" -out "$work/cert.pem" >/dev/null 2>&1
}

check_openssl() {
  have openssl || { problem "openssl: command not found"; return; }
  make_cert || { problem "openssl: cannot make a self-signed certificate (openssl req)"; return; }
  local port out
  port=$(free_port)
  openssl s_server -accept "127.0.0.1:$port" -cert "$work/cert.pem" -key "$work/key.pem" \
    -quiet </dev/null >"$work/s_server.log" 2>&1 &
  server_pids+=($!)
  # Retried for at most 10 s while s_server starts listening.
  local i
  for i in $(seq 1 50); do
    out=$(timeout 10 openssl s_client -connect "127.0.0.1:$port" -brief </dev/null 2>&1) || true
    grep -q "Protocol version: TLSv1.[23]" <<<"$out" && return 0
    sleep 0.2
  done
  problem "openssl s_server/s_client: no TLS 1.2+ handshake on 127.0.0.1:$port: $(head -c 300 <<<"$out") $(head -c 300 "$work/s_server.log")"
}

# A tiny SMTP server (python3 + ssl) that offers STARTTLS; swaks must complete the upgrade and
# say EHLO over TLS. This is exactly what the end-to-end test asks of swaks.
check_swaks_starttls() {
  have swaks || { problem "swaks: command not found"; return; }
  make_cert || return
  local port out
  port=$(free_port)
  cat >"$work/smtp-starttls.py" <<'PY'
import socket, ssl, sys
port, cert, key = int(sys.argv[1]), sys.argv[2], sys.argv[3]
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
ctx.load_cert_chain(cert, key)
srv = socket.socket()
srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
srv.bind(("127.0.0.1", port))
srv.listen(4)
srv.settimeout(20)
while True:
    try:
        conn, _ = srv.accept()
    except socket.timeout:
        sys.exit(1)
    conn.settimeout(10)
    f = conn.makefile("rwb")
    def reply(text):
        f.write(text.encode() + b"\r\n"); f.flush()
    reply("220 localhost ESMTP capability-check")
    tls = False
    try:
        while True:
            line = f.readline()
            if not line:
                break
            cmd = line.decode(errors="replace").strip().upper()
            if cmd.startswith("EHLO"):
                reply("250-localhost" if tls else "250-localhost\r\n250-STARTTLS")
                reply("250 8BITMIME")
            elif cmd == "STARTTLS" and not tls:
                reply("220 2.0.0 Ready to start TLS")
                conn = ctx.wrap_socket(conn, server_side=True)
                f = conn.makefile("rwb")
                tls = True
            elif cmd == "QUIT":
                reply("221 2.0.0 Bye")
                break
            else:
                reply("502 5.5.2 not in this test")
    except (OSError, ssl.SSLError):
        pass
    conn.close()
    if tls:
        sys.exit(0)
PY
  python3 "$work/smtp-starttls.py" "$port" "$work/cert.pem" "$work/key.pem" \
    >"$work/smtp.log" 2>&1 &
  server_pids+=($!)
  if ! wait_port "$port"; then
    problem "could not start the STARTTLS test server (python3): $(head -c 300 "$work/smtp.log")"
    return
  fi
  out=$(timeout 20 swaks --server 127.0.0.1 --port "$port" --tls --quit-after EHLO \
    --helo capability-check 2>&1) || true
  if grep -q "TLS started with cipher" <<<"$out"; then
    :
  elif grep -q "TLS not available" <<<"$out"; then
    problem "swaks cannot do STARTTLS: $(grep -m1 'TLS not available' <<<"$out") (install libnet-ssleay-perl)"
  else
    problem "swaks --tls against a local STARTTLS server failed: $(tail -n 5 <<<"$out" | tr '\n' ' ')"
  fi
}

check_postconf() {
  have postconf || { problem "postconf: command not found (package postfix)"; return; }
  local v
  v=$(postconf -d -h mail_version 2>/dev/null) || true
  if [[ "$v" =~ ^[0-9]+\.[0-9]+ ]]; then :; else
    problem "postconf -d -h mail_version did not print a version (got '$v')"
  fi
  # The tests run postconf -c DIR on scratch copies and start Postfix from them.
  mkdir -p "$work/postfix"
  printf 'smtpd_tls_security_level = may\n' >"$work/postfix/main.cf"
  : >"$work/postfix/master.cf"
  v=$(postconf -c "$work/postfix" -n 2>&1) || true
  grep -qx "smtpd_tls_security_level = may" <<<"$v" ||
    problem "postconf -c DIR -n on a scratch main.cf failed: $v"
  have postfix || have /usr/sbin/postfix || problem "postfix: command not found"
}

check_python_venv() {
  have python3 || { problem "python3: command not found"; return; }
  if ! python3 -m venv "$work/venv" >"$work/venv.log" 2>&1; then
    problem "python3 -m venv failed (package python3-venv): $(tail -n 3 "$work/venv.log" | tr '\n' ' ')"
    return
  fi
  "$work/venv/bin/python" -m pip --version >/dev/null 2>&1 ||
    problem "the virtualenv has no working pip (ensurepip, package python3-venv)"
}

check_pflogsumm() {
  have pflogsumm || { problem "pflogsumm: command not found"; return; }
  printf 'Nov  3 01:02:03 mx postfix/smtpd[1]: connect from a.example[192.0.2.1]\n' >"$work/mail.log"
  pflogsumm "$work/mail.log" >"$work/pflogsumm.out" 2>&1 ||
    problem "pflogsumm does not run (its perl modules?): $(head -n 3 "$work/pflogsumm.out" | tr '\n' ' ')"
}

check_build_tools() {
  have cc || problem "cc: command not found (package build-essential)"
  have make || problem "make: command not found (package build-essential)"
  if have pkg-config; then
    pkg-config --exists openssl || problem "pkg-config does not find openssl (package libssl-dev)"
  else
    problem "pkg-config: command not found"
  fi
}

check_packaging_tools() {
  have lintian && lintian --version >/dev/null 2>&1 || problem "lintian does not run"
  have rpm && rpm --version >/dev/null 2>&1 || problem "rpm does not run"
  have dpkg-shlibdeps || problem "dpkg-shlibdeps: command not found (package dpkg-dev)"
  have man || problem "man: command not found (package man-db)"
  have strip && have readelf || problem "strip/readelf: command not found (package binutils)"
}

check_misc_tools() {
  local t
  for t in gzip zsh fish journalctl chattr mount umount flock timeout sha256sum hyperfine debootstrap; do
    have "$t" || problem "$t: command not found"
  done
}

# ---- BEGIN area checks (other areas add check_* functions here) ----------------------------
# ---- END area checks -----------------------------------------------------------------------

run_checks() {
  check_build_tools
  check_postconf
  check_openssl
  check_swaks_starttls
  check_python_venv
  check_pflogsumm
  check_packaging_tools
  check_misc_tools
  # ---- BEGIN area check calls ----
  # ---- END area check calls ----
}

install_missing
# The checks use python3 for ports and servers; without it they cannot say anything useful.
if have python3; then
  run_checks
else
  problem "python3: command not found (needed by the tests and by these checks)"
fi

if [ ${#problems[@]} -gt 0 ]; then
  echo "error: the test dependencies are not usable:" >&2
  printf '  - %s\n' "${problems[@]}" >&2
  [ "$ci" = true ] && echo "(CI=true: a missing test dependency is a failure, never a skip)" >&2
  exit 1
fi
echo "test dependencies: all ${#pkgs[@]} packages present, capabilities checked" >&2
