# pftls — build and test entry points. `make test` is what CI runs (via .ci/run).
CARGO ?= cargo
export CARGO_TERM_COLOR ?= never

# Extra test targets that areas add in mk/*.mk (e.g. Ansible, packaging, end-to-end).
EXTRA_TESTS :=

.PHONY: all build release test test-deps cargo-test lint fmt bench clean

all: build

build:
	$(CARGO) build --workspace

release:
	$(CARGO) build --release -p pftls

include $(sort $(wildcard mk/*.mk))

# Installs missing test dependencies when run as root; fails (never skips) when one is missing.
# Also builds the three real-postconf oracle chroots (Postfix 3.5, 3.7, 3.10).
test-deps:
	bash scripts/install-test-deps.sh
	bash scripts/install-oracles.sh >/dev/null

# Unit, property and integration tests of every crate, including the tests that run real
# postconf, real openssl and a real Postfix instance.
cargo-test: test-deps
	$(CARGO) build --workspace --all-targets
	$(CARGO) test --workspace --no-fail-fast

# The whole suite.
test: cargo-test $(EXTRA_TESTS)

lint:
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --workspace --all-targets -- -D warnings

fmt:
	$(CARGO) fmt --all

bench:
	$(CARGO) bench --workspace

clean:
	$(CARGO) clean
