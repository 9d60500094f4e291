#!/usr/bin/env bash
# Tests the packages built by `make deb rpm` (run through `make test-packaging`).
#
#   packaging/test-packaging.sh PKG_DIR ASSETS_DIR
#
# PKG_DIR holds exactly one pftls_*.deb and one pftls-*.rpm; ASSETS_DIR is the gen-assets output
# (its man/*.1.gz names are the pages both packages must ship).
#
# .deb: checks its control fields (a one-line synopsis, the project's maintainer, no placeholder
#       addresses), file list, copyright (machine-readable, same license as Cargo.toml and
#       LICENSE), changelog (same version), maintainer scripts (no unexpanded #DEBHELPER#), runs
#       lintian (any error or warning fails; overrides only with a written reason), installs it with dpkg
#       (root only), runs the installed pftls, man (every page has EXIT STATUS, EXAMPLES where
#       written, SEE ALSO; pftls-policy(5)) and bash completion, checks the snapshot directory is
#       0700, removes it (dpkg -r: binary gone, snapshots kept) and purges it (empty snapshot
#       dirs gone).
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
license=$(sed -n 's/^license = "\(.*\)"/\1/p' "$repo/Cargo.toml" | head -n1)
[ -n "$license" ] || { echo "error: no license in $repo/Cargo.toml" >&2; exit 1; }
synopsis=$(sed -n 's/^description = "\(.*\)"/\1/p' "$repo/crates/pftls/Cargo.toml" | head -n1)
maintainer=$(sed -n 's/^maintainer = "\(.*\)"/\1/p' "$repo/crates/pftls/Cargo.toml" | head -n1)
mapfile -t policies < <(cd "$repo/policies" && ls -- *.yaml)
[ ${#policies[@]} -gt 0 ] || { echo "error: no policies in $repo/policies" >&2; exit 1; }
mapfile -t man_pages < <(cd "$assets_dir/man" 2>/dev/null && ls -- *.1.gz || true)
[ ${#man_pages[@]} -gt 1 ] || {
  echo "error: no generated man pages in $assets_dir/man (run make man)" >&2; exit 1; }
[ -f "$assets_dir/man/pftls-policy.5.gz" ] || {
  echo "error: no pftls-policy.5.gz in $assets_dir/man (run make man)" >&2; exit 1; }

# The files both packages must ship (the zsh completion's directory differs: see below).
common_files() {
  echo /usr/bin/pftls
  for m in "${man_pages[@]}"; do echo "/usr/share/man/man1/$m"; done
  echo /usr/share/man/man5/pftls-policy.5.gz
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
expect_eq "deb Maintainer is the project's" "$maintainer" "$(dpkg-deb -f "$deb" Maintainer)"
if dpkg-deb -f "$deb" | grep -qiE 'example\.(invalid|com|org|net)'; then
  fail "deb control has a placeholder address: $(dpkg-deb -f "$deb" | grep -iE 'example\.')"
else pass "deb control has no placeholder address"; fi
if dpkg-deb -f "$deb" Homepage >/dev/null 2>&1 && [ -n "$(dpkg-deb -f "$deb" Homepage)" ]; then
  fail "deb Homepage set ($(dpkg-deb -f "$deb" Homepage)) although the project has none"
else pass "deb has no invented Homepage"; fi
# The synopsis is the first line of Description, whole: cargo-deb cuts a longer one mid-phrase.
expect_eq "deb synopsis (whole, one line)" "$synopsis" "$(dpkg-deb -f "$deb" Description | head -n1)"
[ ${#synopsis} -lt 80 ] && pass "deb synopsis < 80 characters" || fail "synopsis too long: $synopsis"
expect_contains "deb extended description" "takes a snapshot" \
  "$(dpkg-deb -f "$deb" Description | sed 1d | sed 's/^ //' | tr '\n' ' ')"

deb_list=$(dpkg-deb -c "$deb" | awk '{print $NF}' | sed 's|^\./|/|')
want_deb=$( (common_files; echo /usr/share/zsh/vendor-completions/_pftls
             echo /usr/share/doc/pftls/copyright; echo /usr/share/doc/pftls/changelog.Debian.gz
             echo /usr/share/lintian/overrides/pftls) | sort)
got_deb=$(grep -v '/$' <<<"$deb_list" | sort)
expect_eq "deb file list" "$want_deb" "$got_deb"
expect_contains "deb ships postinst" postinst "$(dpkg-deb -I "$deb")"
for script in postinst postrm; do
  if dpkg-deb -I "$deb" "$script" | grep -q '#DEBHELPER#'; then
    fail "deb $script has an unexpanded #DEBHELPER# token"
  else pass "deb $script has no unexpanded #DEBHELPER# token"; fi
done

# Unpacked once for the copyright and changelog checks.
unpacked=$(mktemp -d)
dpkg-deb -x "$deb" "$unpacked"
copyright=$(cat "$unpacked/usr/share/doc/pftls/copyright")
expect_contains "deb copyright is machine-readable" \
  "Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/" "$copyright"
expect_eq "deb copyright Files: * license = Cargo.toml's" "$license" \
  "$(awk '/^Files: \*/{f=1} f && /^License:/{print $2; exit}' <<<"$copyright")"
# The license text in the copyright file is LICENSE's, word for word (DEP-5 indents it and
# writes empty lines as " .").
if diff <(sed -n '/^Permission/,$p' "$repo/LICENSE" | tr -s ' \n' ' ') \
        <(sed -n '/^ Permission/,$p' <<<"$copyright" | sed 's/^ //; s/^\.$//' | tr -s ' \n' ' ') \
        >/dev/null; then
  pass "deb copyright carries the text of LICENSE"
else fail "deb copyright's license text differs from $repo/LICENSE"; fi
if have dpkg-parsechangelog; then
  expect_eq "deb changelog version = package version" "$version-1" \
    "$(gzip -dc "$unpacked/usr/share/doc/pftls/changelog.Debian.gz" >"$unpacked/changelog" &&
       dpkg-parsechangelog -l "$unpacked/changelog" -SVersion)"
else missing "dpkg-parsechangelog (package dpkg-dev) not installed"; fi
override=$(cat "$unpacked/usr/share/lintian/overrides/pftls")
# Every override has a written reason: a comment line right above it.
if awk '/^#/{c=1; next} /^[^#[:space:]]/{ if (!c) bad=1; c=0 } END{exit bad}' <<<"$override"; then
  pass "every lintian override has a written reason"
else fail "a lintian override has no comment above it: $override"; fi
rm -rf "$unpacked"

echo "== lintian"
if ! have lintian; then
  missing "lintian not installed"
else
  # Not as root's default profile surprises: plain debian profile, every tag shown.
  lint=$(lintian --profile debian --display-level '>=pedantic' --show-overrides "$deb" 2>&1) || true
  echo "$lint" | sed 's/^/  lintian: /'
  # Errors and warnings both fail: the package is clean of both; what is accepted is an
  # override with its reason in packaging/deb/lintian-overrides (shown above as N:/O: lines).
  if grep -qE '^[EW]: ' <<<"$lint"; then
    fail "lintian reports errors or warnings on $deb"
  else pass "lintian: no errors, no warnings"; fi
  for tag in maintainer-script-has-unexpanded-debhelper-token no-changelog \
             copyright-not-using-common-license-for-apache2 description-synopsis-might-not-be-phrased-properly \
             extended-description-is-empty; do
    if grep -E "^[EW]: .* $tag( |$)" <<<"$lint" >/dev/null; then fail "lintian: $tag"
    else pass "lintian: no $tag"; fi
  done
  if grep -q '^O: pftls: embedded-library libyaml' <<<"$lint"; then
    pass "lintian: embedded-library libyaml is overridden (with the reason in the override)"
  elif grep -q 'embedded-library' <<<"$lint"; then fail "lintian: embedded-library not overridden"
  else pass "lintian: no embedded-library tag at all"; fi
fi

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
  # Every page (commands and their subcommands) has the sections clap has no place for.
  for m in "${man_pages[@]}"; do
    text=$(MANWIDTH=200 man -P cat "/usr/share/man/man1/$m" 2>/dev/null)
    missing_secs=()
    for sec in "EXIT STATUS" FILES EXAMPLES "SEE ALSO" "postconf(5)"; do
      grep -qF "$sec" <<<"$text" || missing_secs+=("$sec")
    done
    if [ ${#missing_secs[@]} -eq 0 ]; then pass "man page $m has EXIT STATUS, FILES, EXAMPLES, SEE ALSO"
    else fail "man page $m lacks: ${missing_secs[*]}"; fi
  done
  page=$(MANWIDTH=200 man -P cat pftls 2>/dev/null)
  for sec in "EXIT STATUS" EXAMPLES FILES ENVIRONMENT "SEE ALSO"; do
    expect_contains "man pftls has $sec" "$sec" "$page"
  done
  expect_contains "man page documents the snapshot dir" /var/lib/pftls/backups "$page"
  for ref in "postconf(1)" "postconf(5)" "master(5)" "pftls-policy(5)"; do
    expect_contains "man pftls SEE ALSO names $ref" "$ref" "$page"
  done
  page=$(MANWIDTH=200 man -P cat pftls-apply 2>/dev/null)
  expect_contains "man pftls-apply has EXAMPLES" "pftls apply -p inbound-opportunistic --dry-run" "$page"
  expect_contains "man pftls-apply has EXIT STATUS" "EXIT STATUS" "$page"
  expect_eq "man -w pftls-policy" /usr/share/man/man5/pftls-policy.5.gz "$(man -w 5 pftls-policy 2>&1)"
  page=$(MANWIDTH=200 man -P cat 5 pftls-policy 2>/dev/null)
  for key in requires_postfix optional_services "crypto_policy: protocols" VALIDATION EXAMPLES; do
    expect_contains "man pftls-policy(5) documents $key" "$key" "$page"
  done
  # The example policy of pftls-policy(5) is valid for the installed binary.
  ex_dir=$(mktemp -d)
  sed -n '/^ *name: relay-tls/,/encrypt$/p' <<<"$page" | sed 's/^ \{11\}//' >"$ex_dir/relay-tls.yaml"
  if out=$(/usr/bin/pftls --postfix-version 3.7 policies check "$ex_dir/relay-tls.yaml" 2>&1); then
    pass "the example of pftls-policy(5) passes pftls policies check"
  else fail "the example of pftls-policy(5) is rejected: $out"; fi
  rm -rf "$ex_dir"
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
  expect_eq "rpm License = Cargo.toml's" "$license" "$(qf '%{LICENSE}')"
  expect_eq "rpm Summary" "$synopsis" "$(qf '%{SUMMARY}')"
  if grep -qiE 'example\.(invalid|com|org|net)' <<<"$info"; then
    fail "rpm metadata has a placeholder address: $(grep -iE 'example\.' <<<"$info")"
  else pass "rpm metadata has no placeholder address"; fi
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
