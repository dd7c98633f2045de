#!/usr/bin/env bash
# Fetches the containerd 2.1 build the containerd tests run against (tests/common/containerd.rs):
# a PINNED Debian package (Debian 12 only ships containerd 1.6), downloaded with apt-get under a
# private apt state (the system's apt lists, sources and cache are left untouched), checked
# against the pinned SHA-256 and unpacked under target/containerd-<version>/. Idempotent: once
# unpacked (a stamp file records the checked SHA-256), it only prints the binary path.
#
#   usage: scripts/fetch-containerd.sh [--print-dir]
#   prints: the path of the unpacked `containerd` binary (`ctr` is beside it), or with
#           --print-dir the directory holding both
#   env:    NOTARYD_CONTAINERD_CACHE   where to unpack (default: <repo>/target)
#           NOTARYD_DEBIAN_MIRROR      the Debian archive URI (default: the one this machine's
#                                      apt sources use for its own release)
#
# Needs apt-get, dpkg-deb, sha256sum and the Debian archive keyring (Debian 12 has them all);
# run as root like the rest of scripts/test.sh. The package needs only libc (>= 2.34) to run
# the daemon and `ctr`: its Depends on runc matter only for running containers, which the tests
# do not do.
#
# Updating the pin: Debian drops a version from its archive once newer ones replace it in every
# suite; this script then fails and lists the 2.1.x versions the suites have now. Put the new
# version in VERSION and the SHA256 that `apt-cache show containerd=<version>` prints (under the
# same private state) in SHA256, then re-run the containerd tests.
set -euo pipefail

# containerd 2.1.9, Debian revision 5: in Debian forky (testing) and sid (unstable) when pinned.
VERSION=2.1.9+ds1-5
SHA256=2dda86ce7033fd612fc50e136679d8174ccad680eb29cd4611e0d2a1b84cf591
ARCH=amd64
# Searched in this order; the first suite that still has VERSION is used.
SUITES=(forky sid)

cd "$(dirname "$0")/.."
CACHE=${NOTARYD_CONTAINERD_CACHE:-$PWD/target}
UPSTREAM=${VERSION%%+*}
DEST="$CACHE/containerd-$UPSTREAM"
STAMP="$DEST/.fetched-sha256"

print() {
  if [ "${1:-}" = --print-dir ]; then echo "$DEST/usr/bin"; else echo "$DEST/usr/bin/containerd"; fi
}

if [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$SHA256" ] && [ -x "$DEST/usr/bin/containerd" ] &&
  [ -x "$DEST/usr/bin/ctr" ]; then
  print "${1:-}"
  exit 0
fi

if [ "$(dpkg --print-architecture 2>/dev/null || echo unknown)" != "$ARCH" ]; then
  echo "fetch-containerd: the pin is for $ARCH, this machine is $(dpkg --print-architecture 2>/dev/null || uname -m)" >&2
  exit 1
fi
for tool in apt-get apt-cache dpkg-deb sha256sum; do
  command -v "$tool" >/dev/null || { echo "fetch-containerd: $tool is missing (a Debian system is needed)" >&2; exit 1; }
done
KEYRING=/usr/share/keyrings/debian-archive-keyring.gpg
[ -f "$KEYRING" ] || { echo "fetch-containerd: $KEYRING missing: apt-get install debian-archive-keyring" >&2; exit 1; }

# The Debian archive this machine already uses for its own release (the private state must not
# invent a host of its own).
MIRROR=${NOTARYD_DEBIAN_MIRROR:-}
if [ -z "$MIRROR" ]; then
  codename=$(. /etc/os-release && echo "${VERSION_CODENAME:-}")
  MIRROR=$(apt-get indextargets --format '$(RELEASE) $(REPO_URI)' 2>/dev/null |
    awk -v c="$codename" '$1 == c {print $2; exit}')
fi
if [ -z "$MIRROR" ]; then
  echo "fetch-containerd: cannot tell which Debian archive this machine uses (run apt-get update, or set NOTARYD_DEBIAN_MIRROR)" >&2
  exit 1
fi
MIRROR=${MIRROR%/}

STATE=$(mktemp -d "${TMPDIR:-/tmp}/notaryd-containerd-apt.XXXXXX")
trap 'rm -rf "$STATE"' EXIT
mkdir -p "$STATE/lists/partial" "$STATE/cache/archives/partial" "$STATE/etc/preferences.d" "$STATE/debs"
for suite in "${SUITES[@]}"; do
  echo "deb [arch=$ARCH signed-by=$KEYRING] $MIRROR $suite main"
done >"$STATE/sources.list"
APT=(
  -o "Dir::Etc::SourceList=$STATE/sources.list" -o Dir::Etc::SourceParts=/dev/null
  -o "Dir::Etc::Preferences=$STATE/etc/preferences" -o "Dir::Etc::PreferencesParts=$STATE/etc/preferences.d"
  -o "Dir::State::Lists=$STATE/lists" -o "Dir::State::status=/dev/null"
  -o "Dir::Cache=$STATE/cache" -o "Dir::Cache::archives=$STATE/cache/archives"
  -o "APT::Architecture=$ARCH" -o "APT::Architectures=$ARCH" -o APT::Sandbox::User=root
  -o Acquire::Languages=none -o Acquire::IndexTargets::deb::DEP-11::DefaultEnabled=false
  -o Acquire::IndexTargets::deb::DEP-11-icons::DefaultEnabled=false
  -o Acquire::IndexTargets::deb::DEP-11-icons-hidpi::DefaultEnabled=false
)
echo "fetch-containerd: looking up containerd $VERSION in Debian ${SUITES[*]}" >&2
apt-get "${APT[@]}" update -qq >&2
if ! apt-cache "${APT[@]}" madison containerd | awk '{print $3}' | grep -qxF "$VERSION"; then
  echo "fetch-containerd: containerd $VERSION is no longer in Debian ${SUITES[*]}; these versions are:" >&2
  apt-cache "${APT[@]}" madison containerd >&2 || true
  echo "fetch-containerd: update VERSION and SHA256 in $0 to a 2.1.x (see the comment at its top)" >&2
  exit 1
fi
# apt-get checks the download against the signed archive metadata; sha256sum against the pin.
(cd "$STATE/debs" && apt-get "${APT[@]}" download -qq "containerd=$VERSION" >&2)
deb=$(ls "$STATE"/debs/containerd_*_"$ARCH".deb)
got=$(sha256sum "$deb" | awk '{print $1}')
if [ "$got" != "$SHA256" ]; then
  echo "fetch-containerd: $(basename "$deb") has SHA-256 $got, the pin says $SHA256: refusing it" >&2
  exit 1
fi

rm -rf "$DEST.partial"
mkdir -p "$DEST.partial"
dpkg-deb -x "$deb" "$DEST.partial"
for bin in containerd ctr; do
  [ -x "$DEST.partial/usr/bin/$bin" ] || { echo "fetch-containerd: the package has no usr/bin/$bin" >&2; exit 1; }
done
echo "$SHA256" >"$DEST.partial/.fetched-sha256"
rm -rf "$DEST"
mv "$DEST.partial" "$DEST"
echo "fetch-containerd: $("$DEST/usr/bin/containerd" --version) unpacked in $DEST" >&2
print "${1:-}"
