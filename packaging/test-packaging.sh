#!/usr/bin/env bash
# Tests the packages built by `make deb rpm` (run through `make test-packaging`).
#
#   packaging/test-packaging.sh PKG_DIR ASSETS_DIR
#
# PKG_DIR holds exactly one pftls_*.deb and one pftls-*.rpm; ASSETS_DIR is the gen-assets output
# (its man/*.1.gz names are the pages both packages must ship).
#
# .deb: checks its control fields and file list, installs it with dpkg (root only), runs the
#       installed pftls, man and bash completion, checks the snapshot directory is 0700, removes
#       it (dpkg -r: binary gone, snapshots kept) and purges it (empty snapshot dirs gone).
# .rpm: checks metadata, weak dependencies, the file list with modes and doc flags (rpm -qip,
#       rpm -qlp, --qf), then installs it into a scratch root (rpm --root, no scriptlets needed)
#       and runs the binary from there.
#
# A missing tool is an error when CI=true, otherwise the part needing it is skipped loudly. Not
# being root is handled the same way for the dpkg install.
set -euo pipefail

pkg_dir=${1:?usage: test-packaging.sh PKG_DIR ASSETS_DIR}
assets_dir=${2:?usage: test-packaging.sh PKG_DIR ASSETS_DIR}
repo=$(cd "$(dirname "$0")/.." && pwd)
ci=${CI:-false}
failures=0
skips=0

fail() { echo "FAIL: $*" >&2; failures=$((failures + 1)); }
pass() { echo "ok:   $*"; }
# Missing prerequisite: an error under CI, a loud skip otherwise.
missing() {
  if [ "$ci" = true ]; then fail "$* (CI=true: a missing prerequisite is a failure)"
  else echo "SKIP: $*" >&2; skips=$((skips + 1)); fi
}
have() { command -v "$1" >/dev/null 2>&1; }
# expect_eq WHAT EXPECTED ACTUAL
expect_eq() { if [ "$2" = "$3" ]; then pass "$1"; else fail "$1: expected '$2', got '$3'"; fi; }
# expect_contains WHAT NEEDLE HAYSTACK
expect_contains() {
  if grep -qF -- "$2" <<<"$3"; then pass "$1"; else fail "$1: '$2' not found in: $3"; fi
}

one_file() { # one_file GLOB: the single file matching GLOB, or an error
  local matches=()
  # shellcheck disable=SC2206 # the glob is meant to expand
  matches=($1)
  if [ ${#matches[@]} -ne 1 ] || [ ! -f "${matches[0]}" ]; then
    echo "error: expected exactly one file matching $1, found: ${matches[*]}" >&2
    exit 1
  fi
  echo "${matches[0]}"
}

deb=$(one_file "$pkg_dir/pftls_*.deb")
rpm_file=$(one_file "$pkg_dir/pftls-*.rpm")
version=$(sed -n 's/^version = "\(.*\)"/\1/p' "$repo/Cargo.toml" | head -n1)
[ -n "$version" ] || { echo "error: no version in $repo/Cargo.toml" >&2; exit 1; }
mapfile -t policies < <(cd "$repo/policies" && ls -- *.yaml)
[ ${#policies[@]} -gt 0 ] || { echo "error: no policies in $repo/policies" >&2; exit 1; }
mapfile -t man_pages < <(cd "$assets_dir/man" 2>/dev/null && ls -- *.1.gz || true)
[ ${#man_pages[@]} -gt 1 ] || {
  echo "error: no generated man pages in $assets_dir/man (run make man)" >&2; exit 1; }

# The files both packages must ship (the zsh completion's directory differs: see below).
common_files() {
  echo /usr/bin/pftls
  for m in "${man_pages[@]}"; do echo "/usr/share/man/man1/$m"; done
  echo /usr/share/bash-completion/completions/pftls
  echo /usr/share/fish/vendor_completions.d/pftls.fish
  echo /usr/share/doc/pftls/README.md
  for p in "${policies[@]}"; do echo "/usr/share/doc/pftls/policies/$p"; done
}

# ---------------------------------------------------------------------------------------------
echo "== .deb: $deb"
expect_eq "deb Package" pftls "$(dpkg-deb -f "$deb" Package)"
expect_eq "deb Version" "$version-1" "$(dpkg-deb -f "$deb" Version)"
expect_eq "deb Architecture" "$(dpkg --print-architecture)" "$(dpkg-deb -f "$deb" Architecture)"
expect_eq "deb Section" admin "$(dpkg-deb -f "$deb" Section)"
expect_eq "deb Recommends" postfix "$(dpkg-deb -f "$deb" Recommends)"
expect_contains "deb Depends names libc" libc6 "$(dpkg-deb -f "$deb" Depends)"
if grep -qw postfix <<<"$(dpkg-deb -f "$deb" Depends)"; then
  fail "deb must not depend on postfix (pftls runs without it)"
else pass "deb does not depend on postfix"; fi
expect_contains "deb Maintainer" "pftls developers" "$(dpkg-deb -f "$deb" Maintainer)"
expect_contains "deb Description" "Postfix TLS" "$(dpkg-deb -f "$deb" Description)"

deb_list=$(dpkg-deb -c "$deb" | awk '{print $NF}' | sed 's|^\./|/|')
want_deb=$( (common_files; echo /usr/share/zsh/vendor-completions/_pftls
             echo /usr/share/doc/pftls/copyright) | sort)
got_deb=$(grep -v '/$' <<<"$deb_list" | sort)
expect_eq "deb file list" "$want_deb" "$got_deb"
expect_contains "deb ships postinst" postinst "$(dpkg-deb -I "$deb")"

echo "== .deb install (dpkg)"
if [ "$(id -u)" -ne 0 ]; then
  missing "dpkg install test needs root"
elif ! have man; then
  missing "man (package man-db) not installed"
elif [ -e /usr/bin/pftls ] && ! dpkg -S /usr/bin/pftls 2>/dev/null | grep -q '^pftls:'; then
  # dpkg would silently overwrite a hand-installed binary, and dpkg -r would then delete it.
  fail "/usr/bin/pftls exists and is not from the pftls package; refusing to overwrite it"
else
  backups_existed=false
  [ -d /var/lib/pftls/backups ] && backups_existed=true
  # Leave no half-installed package behind when a check below aborts the script.
  trap 'dpkg -P pftls >/dev/null 2>&1 || true' EXIT
  dpkg -i "$deb" >/dev/null
  expect_eq "installed version" "pftls $version" "$(/usr/bin/pftls --version)"
  policy_list=$(/usr/bin/pftls policies list 2>&1) || fail "pftls policies list exited $?"
  for p in "${policies[@]}"; do
    expect_contains "pftls policies list names ${p%.yaml}" "${p%.yaml}" "$policy_list"
  done
  expect_eq "man -w pftls" /usr/share/man/man1/pftls.1.gz "$(man -w pftls 2>&1)"
  expect_eq "man -w pftls-apply" /usr/share/man/man1/pftls-apply.1.gz "$(man -w pftls-apply 2>&1)"
  # Every command the installed binary offers has its page (the pages cannot lag the binary).
  mapfile -t commands < <(/usr/bin/pftls --help |
    awk '/^Commands:/{on=1; next} on && /^$/{exit} on && /^  [a-z]/ && $1 != "help" {print $1}')
  if [ ${#commands[@]} -lt 5 ]; then fail "could not read the commands from pftls --help"; fi
  for c in "${commands[@]}"; do
    expect_eq "man -w pftls-$c" "/usr/share/man/man1/pftls-$c.1.gz" "$(man -w "pftls-$c" 2>&1)"
  done
  page=$(MANWIDTH=200 man -P cat pftls 2>/dev/null)
  expect_contains "man page has EXIT STATUS" "EXIT STATUS" "$page"
  expect_contains "man page documents the snapshot dir" /var/lib/pftls/backups "$page"
  expect_eq "snapshot dir mode/owner" "700 root:root" \
    "$(stat -c '%a %U:%G' /var/lib/pftls/backups 2>&1)"
  # The bash completion really completes: `pftls po<TAB>` offers `policies`.
  comp=$(bash -c 'source /usr/share/bash-completion/completions/pftls
    COMP_WORDS=(pftls po); COMP_CWORD=1; COMP_LINE="pftls po"; COMP_POINT=${#COMP_LINE}
    _pftls pftls po pftls; echo "${COMPREPLY[*]}"' 2>&1)
  expect_eq "bash completion of 'pftls po'" policies "$comp"
  comp=$(bash -c 'source /usr/share/bash-completion/completions/pftls
    COMP_WORDS=(pftls policies ""); COMP_CWORD=2; COMP_LINE="pftls policies "
    COMP_POINT=${#COMP_LINE}; _pftls pftls "" policies; echo " ${COMPREPLY[*]} "' 2>&1)
  for w in list show check; do
    expect_contains "bash completion of 'pftls policies ' offers $w" " $w " "$comp"
  done
  for p in "${policies[@]}"; do
    if cmp -s "$repo/policies/$p" "/usr/share/doc/pftls/policies/$p"; then
      pass "installed policy $p matches the source"
    else fail "installed policy $p differs from $repo/policies/$p"; fi
  done

  # Snapshots survive "remove"; the binary does not.
  dpkg -r pftls >/dev/null
  if [ -e /usr/bin/pftls ]; then fail "/usr/bin/pftls still there after dpkg -r"
  else pass "dpkg -r removed /usr/bin/pftls"; fi
  if [ -e /usr/share/man/man1/pftls.1.gz ]; then fail "man page still there after dpkg -r"
  else pass "dpkg -r removed the man page"; fi
  if [ -d /var/lib/pftls/backups ]; then pass "dpkg -r kept the snapshot directory"
  else fail "dpkg -r deleted the snapshot directory"; fi
  dpkg -P pftls >/dev/null
  if [ "$backups_existed" = false ]; then
    if [ -e /var/lib/pftls ]; then fail "dpkg -P left the empty /var/lib/pftls behind"
    else pass "dpkg -P removed the empty snapshot directories"; fi
  fi
  if dpkg-query -W pftls >/dev/null 2>&1 && \
     [ "$(dpkg-query -W -f='${Status}' pftls)" != "unknown ok not-installed" ]; then
    fail "pftls still known to dpkg after purge: $(dpkg-query -W -f='${Status}' pftls)"
  else pass "dpkg -P purged pftls"; fi
  trap - EXIT
fi

# ---------------------------------------------------------------------------------------------
echo "== .rpm: $rpm_file"
if ! have rpm; then
  missing "rpm not installed"
else
  qf() { rpm -qp --qf "$1" "$rpm_file" 2>/dev/null; }
  info=$(rpm -qip "$rpm_file" 2>/dev/null)
  expect_contains "rpm -qip Name" "pftls" "$(grep '^Name' <<<"$info")"
  expect_eq "rpm Version" "$version" "$(qf '%{VERSION}')"
  expect_eq "rpm Release" 1 "$(qf '%{RELEASE}')"
  expect_eq "rpm Arch" x86_64 "$(qf '%{ARCH}')"
  expect_eq "rpm License" "MIT OR Apache-2.0" "$(qf '%{LICENSE}')"
  expect_contains "rpm Summary" "Postfix TLS" "$(qf '%{SUMMARY}')"
  expect_contains "rpm -qip URL" "https://" "$(grep '^URL' <<<"$info")"
  expect_eq "rpm Recommends" postfix "$(rpm -qp --recommends "$rpm_file" 2>/dev/null)"
  expect_eq "rpm Suggests" swaks "$(rpm -qp --suggests "$rpm_file" 2>/dev/null)"
  if rpm -qp --requires "$rpm_file" 2>/dev/null | grep -qw postfix; then
    fail "rpm must not Require postfix (pftls runs without it)"
  else pass "rpm does not require postfix"; fi

  want_rpm=$( (common_files; echo /usr/share/zsh/site-functions/_pftls
               echo /usr/share/licenses/pftls/LICENSE) | sort)
  expect_eq "rpm -qlp file list" "$want_rpm" "$(rpm -qlp "$rpm_file" 2>/dev/null | sort)"
  modes=$(qf '[%{FILEMODES:perms} %{FILEUSERNAME}:%{FILEGROUPNAME} %{FILENAMES}\n]')
  expect_contains "rpm binary mode" "-rwxr-xr-x root:root /usr/bin/pftls" "$modes"
  docs=$(rpm -qdp "$rpm_file" 2>/dev/null)
  expect_contains "rpm man page flagged as doc" /usr/share/man/man1/pftls.1.gz "$docs"
  expect_contains "rpm README flagged as doc" /usr/share/doc/pftls/README.md "$docs"

  echo "== .rpm install into a scratch root"
  if [ "$(id -u)" -ne 0 ]; then
    missing "rpm --root install test needs root"
  else
    scratch=$(mktemp -d)
    # --nodeps: the scratch root has no libc package; the binary runs against the host's libs.
    if rpm --root "$scratch" --initdb && \
       rpm --root "$scratch" -i --nodeps --noscripts "$rpm_file" >/dev/null 2>&1; then
      expect_eq "rpm-installed version" "pftls $version" "$("$scratch/usr/bin/pftls" --version)"
      # %post cannot run in the scratch root (no shell there): run it on the host, rooted in
      # the scratch dir, to check it creates the snapshot directory 0700.
      post=$(qf '%{POSTIN}')
      expect_contains "rpm %post creates the snapshot dir 0700" \
        "install -d -m 0700 /var/lib/pftls/backups" "$post"
      sh -e -c "${post//\/var\/lib\/pftls/$scratch/var/lib/pftls}"
      expect_eq "rpm %post: snapshot dir mode" 700 "$(stat -c %a "$scratch/var/lib/pftls/backups")"
      postun=$(qf '%{POSTUN}')
      sh -e -c "${postun//\/var\/lib\/pftls/$scratch/var/lib/pftls}" sh 0
      if [ -e "$scratch/var/lib/pftls" ]; then fail "rpm %postun left the empty snapshot dirs"
      else pass "rpm %postun removed the empty snapshot dirs"; fi
      if ! have readelf; then
        missing "readelf (package binutils) not installed"
      elif sections=$(readelf -S "$scratch/usr/bin/pftls" 2>&1) && ! grep -q '\.symtab' <<<"$sections"; then
        pass "rpm binary is a stripped ELF"
      else fail "rpm binary is not a stripped ELF: $(head -c 300 <<<"$sections")"; fi
    else
      fail "rpm -i --root $scratch failed"
    fi
    rm -rf "$scratch"
  fi
fi

echo
if [ $failures -gt 0 ]; then
  echo "test-packaging: $failures failure(s), $skips skip(s)" >&2
  exit 1
fi
echo "test-packaging: all checks passed ($skips skipped)"
