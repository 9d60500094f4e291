# Fresh-machine check (issue 17): scripts/install-test-deps.sh must turn a minimal debootstrap
# Debian into a machine the suite runs on, checked by capability (swaks STARTTLS, postconf,
# openssl s_server, python3 venv, ...), on a throw-away copy of a cached pristine chroot.
# Needs root; with CI=true not being root, or any failure, is fatal.
FRESH_SUITE ?= bookworm

.PHONY: test-fresh

test-fresh:
	bash scripts/fresh-machine-check.sh $(FRESH_SUITE)

EXTRA_TESTS += test-fresh
