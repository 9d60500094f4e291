# Packaging (issue 10): man pages and shell completions generated from the clap definitions,
# .deb (cargo-deb) and .rpm for EL10 x86_64 (cargo-generate-rpm), and their install test.
#
#   make man completions   -> $(PKG_ASSETS)/man/*.1.gz and pftls-policy.5.gz,
#                             $(PKG_ASSETS)/completions/*
#   make deb               -> $(PKG_OUT)/pftls_<version>-1_amd64.deb
#   make rpm               -> $(PKG_OUT)/pftls-<version>-1.x86_64.rpm
#   make test-packaging    -> builds both, runs lintian on the .deb (errors fail), installs and
#                             removes the .deb with dpkg (root), inspects the .rpm with
#                             rpm -qlp/-qip (packaging/test-packaging.sh)
#
# DEB_MAINTAINER="Name <address>" overrides the Maintainer field (a site publishing the package
# in its own repository); the default is the project's identity in crates/pftls/Cargo.toml.
#
# The packagers are installed once with `cargo install --locked` into $(PKG_TOOLS) (a few minutes
# of compiling on the first run; later runs only check their version).

# Where cargo puts its output; the packagers map the `target/release/` prefix of the asset paths
# in crates/pftls/Cargo.toml to this directory, so generated assets live under it too.
PKG_TARGET_DIR ?= $(or $(CARGO_TARGET_DIR),target)
PKG_ASSETS := $(PKG_TARGET_DIR)/release/pftls-assets
PKG_OUT ?= $(PKG_TARGET_DIR)/packages
# Outside the work tree, so that a fresh clone (CI) on the same machine reuses the packagers.
PKG_TOOLS ?= $(or $(XDG_CACHE_HOME),$(HOME)/.cache)/pftls/tools
CARGO_DEB_VERSION ?= 3.8.0
CARGO_GENERATE_RPM_VERSION ?= 0.21.1
DEB_MAINTAINER ?=
# The tools dir first on PATH, so that `cargo deb` / `cargo generate-rpm` find the subcommands.
PKG_PATH = $(abspath $(PKG_TOOLS))/bin:$(PATH)

EXTRA_TESTS += test-packaging

.PHONY: man completions pkg-assets pkg-tools deb rpm test-packaging

man completions: pkg-assets

# One generator run writes both (it empties its output dirs first), so they stay consistent.
# Debug profile on purpose: `cargo build --workspace --all-targets` (make test) has already
# built the example, so this costs nothing there.
pkg-assets:
	$(CARGO) run --quiet -p pftls --example gen-assets -- $(PKG_ASSETS)
	gzip -9 -n -f $(PKG_ASSETS)/man/*.1 $(PKG_ASSETS)/man/*.5

# Installs a packager at the pinned version unless it is already there.
# $(1): crate name, $(2): version, $(3): the cargo subcommand.
define pkg_install_tool
	@if PATH="$(PKG_PATH)" $(CARGO) $(3) --version 2>/dev/null | grep -qF "$(2)"; then \
	  echo "$(1) $(2) already in $(PKG_TOOLS)"; \
	else \
	  echo "installing $(1) $(2) into $(PKG_TOOLS) (first run: a few minutes)"; \
	  $(CARGO) install --locked --quiet --root $(PKG_TOOLS) --version $(2) $(1); \
	fi
endef

pkg-tools:
	$(call pkg_install_tool,cargo-deb,$(CARGO_DEB_VERSION),deb)
	$(call pkg_install_tool,cargo-generate-rpm,$(CARGO_GENERATE_RPM_VERSION),generate-rpm)

deb: release pkg-assets pkg-tools
	mkdir -p $(PKG_OUT)
	rm -f $(PKG_OUT)/pftls_*.deb
	PATH="$(PKG_PATH)" $(CARGO) deb -p pftls --no-build --output $(PKG_OUT)/ \
	  $(if $(DEB_MAINTAINER),--maintainer "$(DEB_MAINTAINER)")

# cargo-generate-rpm does not strip: package a stripped copy, leaving cargo's binary untouched.
rpm: release pkg-assets pkg-tools
	strip --strip-all -o $(PKG_ASSETS)/pftls $(PKG_TARGET_DIR)/release/pftls
	mkdir -p $(PKG_OUT)
	rm -f $(PKG_OUT)/pftls-*.rpm
	PATH="$(PKG_PATH)" $(CARGO) generate-rpm -p crates/pftls --target-dir $(PKG_TARGET_DIR) \
	  --output $(PKG_OUT)/

test-packaging: test-deps deb rpm
	bash packaging/test-packaging.sh $(PKG_OUT) $(PKG_ASSETS)
