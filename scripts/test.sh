#!/usr/bin/env bash
# The whole test suite, exactly as CI runs it: installs what is missing, then
# cargo fmt --check, cargo clippy -D warnings, every test, the fuzz smoke and the packages.
set -euo pipefail
cd "$(dirname "$0")/.."
# docker-registry: the real registry (distribution 2.8) the registry tests start
# (tests/common/registry.rs); openssl: the real OCSP responder (`openssl ocsp`) the bundle
# tests start (tests/common/openssl_ocsp.rs); systemd: systemd-socket-activate, which the
# daemon tests use to hand `notaryd serve` its socket as systemd does; containerd: Debian 12's
# containerd 1.6.20 (with its ctr), one of the two real containerd builds the CRI and
# containerd tests start (tests/common/containerd.rs). Those tests fail, never skip, without
# them.
# shellcheck source=scripts/prereqs.sh
. scripts/prereqs.sh docker-registry openssl systemd containerd python3-grpcio
# The other containerd build: a pinned 2.1 package (Debian 12 has none), unpacked under
# target/ (idempotent; the tests find it there or through NOTARYD_TEST_CONTAINERD21_BIN).
echo "test.sh: containerd 2.1 at $(scripts/fetch-containerd.sh)"

if [ -d ../shared/vectors ]; then
  echo "test.sh: conformance vectors found at ../shared/vectors"
else
  echo "test.sh: WARNING: ../shared/vectors not found: the conformance tests will say so and skip (with CI set they fail)"
fi

# Coverage lines the tests append while they run (tests/common/report.rs); stale ones go first.
rm -rf target/test-reports

cargo fmt --all -- --check
cargo clippy --locked --workspace --all-targets -- -D warnings
# The core again, with its own bans (std I/O, environment, clock: lints/verify/clippy.toml).
CLIPPY_CONF_DIR=lints/verify cargo clippy --locked -p notaryd-verify --all-targets -- -D warnings
cargo test --locked --workspace --all-targets
cargo test --locked --workspace --doc
# What the conformance tests covered, and the containerd builds the containerd tests ran
# against: their output is captured above, so they also wrote it to target/test-reports/.
cat target/test-reports/conformance.txt 2>/dev/null || true
sort -u target/test-reports/containerd.txt 2>/dev/null || true

# The fuzz targets (tests/fuzz/, a crate of its own): build every one with cargo-fuzz and run
# each for 5 s; any crash, failed check, timeout or out-of-memory fails here, naming the target
# and its log (scripts/fuzz-smoke.sh). The long campaigns are docs/robustness.md's.
scripts/fuzz-smoke.sh

# The packages: build both, lint, install the .deb here, run its units under a real systemd,
# remove and purge; check the .rpm (scripts/package-test.sh says what exactly). It installs
# the notaryd package on this machine for the duration: NOTARYD_SKIP_PACKAGE_TESTS=1 skips it
# (CI never sets it).
if [ "${NOTARYD_SKIP_PACKAGE_TESTS:-}" = 1 ]; then
  echo "test.sh: WARNING: NOTARYD_SKIP_PACKAGE_TESTS=1: the package tests did not run"
else
  scripts/package-test.sh
fi
