# pftls — build and test entry points. `make test` is what CI runs (via .ci/run).
CARGO ?= cargo
export CARGO_TERM_COLOR ?= never

.PHONY: all build release test test-deps unit e2e lint fmt bench clean

all: build

build:
	$(CARGO) build --workspace

release:
	$(CARGO) build --release -p pftls

# Installs missing test dependencies when run as root; fails (never skips) when one is missing.
test-deps:
	bash scripts/install-test-deps.sh

# The whole suite: unit, property and integration tests of every crate, including the tests that
# run real postconf, real openssl and a real Postfix instance.
test: test-deps
	$(CARGO) build --workspace --all-targets
	$(CARGO) test --workspace --no-fail-fast

lint:
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --workspace --all-targets -- -D warnings

fmt:
	$(CARGO) fmt --all

bench:
	$(CARGO) bench --workspace

clean:
	$(CARGO) clean
