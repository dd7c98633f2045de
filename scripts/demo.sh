#!/usr/bin/env bash
# The main job on the embedded default: verify the signed example image shipped in
# examples/hello/ (an OCI image layout) against the shipped example trust policy and store.
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=scripts/prereqs.sh
. scripts/prereqs.sh

cargo build --locked --quiet --bin notaryd
exec target/debug/notaryd verify \
  --oci-layout examples/hello/layout:v1 \
  --scope registry.example/notaryd/hello \
  --notation-config examples/hello/notation "$@"
