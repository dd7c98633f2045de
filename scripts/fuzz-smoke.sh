#!/usr/bin/env bash
# CI's fuzz smoke (scripts/test.sh runs it): builds every fuzz target of tests/fuzz/ (libFuzzer
# with AddressSanitizer, through cargo-fuzz), seeds the corpora when one is empty
# (tests/fuzz/seed.sh), and runs each target for a few seconds with its dictionary, one
# libFuzzer process at a time (tests/fuzz/campaign.sh -t). It fails, naming the target and its
# log, on any finding: a crash, a panic or a failed check in the target, a timeout (10 s), an
# out-of-memory (4 GiB), or a target that does not build or start. This keeps every target
# building and running; the campaigns proper (10^7 executions a target) are in
# docs/robustness.md. Installs cargo-fuzz, pinned, with `cargo install --locked` when it is
# missing.
#
# Usage: scripts/fuzz-smoke.sh [TARGET...]      (all targets by default)
# Environment: NOTARYD_FUZZ_SMOKE_SECONDS, the seconds each target runs (default 5).
set -euo pipefail
cd "$(dirname "$0")/.."
targets=("$@")
# prereqs.sh takes extra Debian packages as its arguments: give it none.
set --
# shellcheck source=scripts/prereqs.sh
. scripts/prereqs.sh

CARGO_FUZZ_VERSION=0.13.2
secs=${NOTARYD_FUZZ_SMOKE_SECONDS:-5}
# The stable toolchain takes cargo-fuzz's -Zsanitizer=address flags with this.
export RUSTC_BOOTSTRAP=1
start=$SECONDS

# cargo install --list prints "cargo-fuzz v0.13.2:" for an installed tool.
cargo install --list | grep -qx "cargo-fuzz v$CARGO_FUZZ_VERSION:" ||
  cargo install --locked --quiet cargo-fuzz --version "$CARGO_FUZZ_VERSION"

# cargo fuzz has no --locked: check the fuzz crate's Cargo.lock is current first.
cargo metadata --locked --format-version 1 --manifest-path tests/fuzz/Cargo.toml >/dev/null
cargo fuzz build --fuzz-dir tests/fuzz
echo "fuzz-smoke: built every target in $((SECONDS - start)) s"

if [ ${#targets[@]} -eq 0 ]; then
  mapfile -t targets < <(cargo fuzz list --fuzz-dir tests/fuzz)
fi
[ ${#targets[@]} -gt 0 ] || { echo "fuzz-smoke: cargo fuzz list named no target" >&2; exit 1; }

for t in "${targets[@]}"; do
  if [ -z "$(ls -A "tests/fuzz/corpus/$t" 2>/dev/null)" ]; then
    echo "fuzz-smoke: the corpus of $t is empty: tests/fuzz/seed.sh"
    tests/fuzz/seed.sh
    break
  fi
done

report=tests/fuzz/logs/fuzz-smoke.md
mkdir -p tests/fuzz/logs
# campaign.sh exits 1 on a finding; the rows say which target, so read them rather than stop.
tests/fuzz/campaign.sh -t "$secs" "${targets[@]}" | tee "$report" || true

failed=()
for t in "${targets[@]}"; do
  row=$(grep -E "^\| $t \|" "$report" || true)
  # | target | seconds | execs | exec/s | cov | ft | corpus | findings |
  finding=$(sed -E 's/^(\|[^|]*){7}\| //; s/ \|$//' <<<"$row")
  if [ -z "$row" ]; then
    failed+=("$t: no result (campaign.sh stopped)")
  elif [ "$finding" != none ]; then
    failed+=("$t: $finding")
  fi
done
if [ ${#failed[@]} -gt 0 ]; then
  for f in "${failed[@]}"; do
    t=${f%%:*}
    log=tests/fuzz/logs/$t.log
    echo "fuzz-smoke: FAILED: $f"
    echo "fuzz-smoke:   log: $log; inputs that failed: tests/fuzz/artifacts/$t/"
    echo "fuzz-smoke:   reproduce: RUSTC_BOOTSTRAP=1 cargo fuzz run --fuzz-dir tests/fuzz $t ARTIFACT"
    echo "----- last lines of $log -----"
    tail -n 40 "$log" 2>/dev/null || true
    echo "-----"
  done
  echo "fuzz-smoke: ${#failed[@]} of ${#targets[@]} targets failed" >&2
  exit 1
fi
echo "fuzz-smoke: ${#targets[@]} targets, ${secs} s each, no finding ($((SECONDS - start)) s in all)"
