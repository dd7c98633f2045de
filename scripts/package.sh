#!/usr/bin/env bash
# Builds both packages from a clean checkout:
#   target/debian/notaryd_<version>-1_<arch>.deb        (cargo-deb)
#   target/generate-rpm/notaryd-<version>-1.<arch>.rpm  (cargo-generate-rpm)
# One optimised build (profile "dist": release, stripped) of both binaries; the man pages and
# shell completions are generated from the command-line definitions (examples/gen-docs.rs)
# and gzipped. Installs what is missing first: the build prerequisites (scripts/prereqs.sh)
# and the two packagers, pinned, with `cargo install --locked`.
#
# Environment: NOTARYD_DOCS_PROFILE (dev by default) is the profile gen-docs is built in;
# `dev` reuses what `cargo test` built, `dist` shares the packages' build.
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=scripts/prereqs.sh
. scripts/prereqs.sh

CARGO_DEB_VERSION=3.8.0
CARGO_GENERATE_RPM_VERSION=0.21.1
PROFILE=dist
DOCS_PROFILE=${NOTARYD_DOCS_PROFILE:-dev}

# cargo install --list prints "cargo-deb v3.8.0:" for an installed tool.
need_tool() { # crate version
  cargo install --list | grep -qx "$1 v$2:" ||
    cargo install --locked --quiet "$1" --version "$2"
}
need_tool cargo-deb "$CARGO_DEB_VERSION"
need_tool cargo-generate-rpm "$CARGO_GENERATE_RPM_VERSION"

target_dir=$(cargo metadata --format-version 1 --no-deps |
  sed -n 's/.*"target_directory":"\([^"]*\)".*/\1/p')
out="$target_dir/$PROFILE"
docs="$out/package-docs"

# Reproducible dates and mtimes: the last commit's time, when there is a git history.
if [ -z "${SOURCE_DATE_EPOCH:-}" ]; then
  SOURCE_DATE_EPOCH=$(git log -1 --format=%ct 2>/dev/null || date +%s)
  export SOURCE_DATE_EPOCH
fi

echo "package: building notaryd and notaryd-containerd-verifier (profile $PROFILE)"
cargo build --locked --profile "$PROFILE" --bins

echo "package: man pages and completions (examples/gen-docs.rs, profile $DOCS_PROFILE)"
rm -rf "$docs"
cargo run --locked --quiet --profile "$DOCS_PROFILE" --example gen-docs -- "$docs" >/dev/null
gzip -9n "$docs"/man/*.1

echo "package: .deb"
cargo deb --locked --no-build --profile "$PROFILE" --quiet
echo "package: .rpm"
cargo generate-rpm --profile "$PROFILE"

version=$(cargo metadata --format-version 1 --no-deps |
  sed -n 's/.*"name":"notaryd","version":"\([^"]*\)".*/\1/p')
deb=$(ls -t "$target_dir"/debian/notaryd_"$version"-*.deb | head -n 1)
rpm=$(ls -t "$target_dir"/generate-rpm/notaryd-"$version"-*.rpm | head -n 1)
printf 'package: %s (%s bytes)\n' "$deb" "$(stat -c %s "$deb")"
printf 'package: %s (%s bytes)\n' "$rpm" "$(stat -c %s "$rpm")"
