#!/usr/bin/env bash
# The packages' tests (run by .ci/run after scripts/test.sh): builds both packages
# (scripts/package.sh), lints the .deb with lintian (no errors), installs it with dpkg on this
# machine, checks its files, modes, conffiles and maintainer-script behaviour, runs the
# installed binaries against the installed default configuration (which must load and accept
# nothing), runs the installed units under a real systemd (scripts/systemd-sandbox-test.sh),
# checks that a modified conffile survives a reinstall, verifies the systemd units and their
# exposure, removes and purges the package and checks that nothing is left, then
# checks the .rpm's file list, config files and scriptlets.
#
# It refuses to run where /etc/notaryd exists or a notaryd package is installed (an
# operator's configuration and revocation bundles are never touched), unless
# NOTARYD_PACKAGE_TEST_PURGE=1 says that an installed notaryd package may be purged first.
# The package it installs is purged on exit whatever happens.
set -euo pipefail
cd "$(dirname "$0")/.."
# lintian, rpm (to inspect the .rpm), systemd (systemd-analyze; systemd-sysusers for the
# package's group; the systemd scripts/systemd-sandbox-test.sh boots), and what that test
# serves the sandboxed daemon: docker-registry, containerd, python3 (push-oci-layout.py).
# shellcheck source=scripts/prereqs.sh
. scripts/prereqs.sh lintian rpm systemd docker-registry containerd python3

started=$SECONDS
failures=0
checks=0
pass() { checks=$((checks + 1)); }
fail() { checks=$((checks + 1)); failures=$((failures + 1)); echo "package-test: FAIL: $*" >&2; }
check() { # description command...
  local what=$1
  shift
  if "$@"; then pass; else fail "$what"; fi
}
installed() { dpkg-query -W -f='${db:Status-Abbrev}' notaryd 2>/dev/null | grep -q '^[ir][ic]'; }

if installed; then
  if [ "${NOTARYD_PACKAGE_TEST_PURGE:-}" != 1 ]; then
    echo "package-test: a notaryd package is installed; purging it would delete its" \
      "configuration and revocation bundles. NOTARYD_PACKAGE_TEST_PURGE=1 allows it." >&2
    exit 1
  fi
  echo "package-test: purging the notaryd package already installed"
  dpkg --purge notaryd >/dev/null
elif [ -e /etc/notaryd ]; then
  echo "package-test: /etc/notaryd exists and is not the notaryd package's: not touching it" >&2
  exit 1
fi
build_log=$(mktemp)
cleanup() {
  if installed; then dpkg --purge notaryd >/dev/null 2>&1 || true; fi
  rm -f "$build_log"
}
trap cleanup EXIT

t0=$SECONDS
scripts/package.sh | tee "$build_log"
build_seconds=$((SECONDS - t0))
deb=$(sed -n 's/^package: \(.*\.deb\) (.*/\1/p' "$build_log")
rpm=$(sed -n 's/^package: \(.*\.rpm\) (.*/\1/p' "$build_log")
[ -f "$deb" ] && [ -f "$rpm" ] || { echo "package-test: packages not found" >&2; exit 1; }

# --- lintian ---------------------------------------------------------------------------------
echo "package-test: lintian $deb"
if lintian --fail-on error --allow-root --display-level '>=warning' "$deb"; then pass; else
  fail "lintian reports errors"
fi

# --- install ---------------------------------------------------------------------------------
echo "package-test: dpkg -i"
check "dpkg -i" dpkg -i "$deb"

mode_is() { # expected-mode:owner:group path
  local got
  got=$(stat -c '%a:%U:%G' "$2" 2>/dev/null || echo missing)
  [ "$got" = "$1" ] || { echo "  $2: $got, expected $1" >&2; return 1; }
}
for f in /usr/bin/notaryd /usr/libexec/notaryd/notaryd-containerd-verifier; do
  check "mode of $f" mode_is 755:root:root "$f"
done
for f in /etc/notaryd/config.toml /etc/notaryd/trustpolicy.json \
  /etc/notaryd/truststore/x509/ca/unconfigured/placeholder-no-private-key.crt \
  /usr/lib/systemd/system/notaryd.service /usr/lib/systemd/system/notaryd.socket \
  /usr/lib/systemd/system/notaryd-cri.socket /usr/lib/sysusers.d/notaryd.conf \
  /usr/share/doc/notaryd/examples/notaryd.service-cri.conf \
  /usr/share/bash-completion/completions/notaryd /usr/share/zsh/vendor-completions/_notaryd \
  /usr/share/fish/vendor_completions.d/notaryd.fish \
  /usr/share/doc/notaryd/README.md /usr/share/doc/notaryd/containerd.md \
  /usr/share/doc/notaryd/examples/trustpolicy.json /usr/share/doc/notaryd/copyright \
  /usr/share/doc/notaryd/changelog.Debian.gz; do
  check "mode of $f" mode_is 644:root:root "$f"
done
for page in notaryd notaryd-verify notaryd-serve notaryd-config-check notaryd-doctor \
  notaryd-bundle notaryd-bundle-create notaryd-bundle-import notaryd-bundle-inspect; do
  check "man page $page" mode_is 644:root:root "/usr/share/man/man1/$page.1.gz"
done
check "notaryd(1) renders" sh -c 'man -l /usr/share/man/man1/notaryd.1.gz 2>&1 | grep -q "EXIT STATUS"'
for d in /etc/notaryd/truststore/x509/ca /etc/notaryd/truststore/x509/signingAuthority \
  /etc/notaryd/truststore/x509/tsa /var/lib/notaryd/revocation; do
  check "directory $d" mode_is 755:root:root "$d"
done
check "bash completion parses" bash -n /usr/share/bash-completion/completions/notaryd
check "the notaryd group exists" getent group notaryd

conffiles=$(dpkg-query -W -f='${Conffiles}\n' notaryd | awk 'NF { print $1 }' | sort | tr '\n' ' ')
expected="/etc/notaryd/config.toml /etc/notaryd/trustpolicy.json /etc/notaryd/truststore/x509/ca/unconfigured/placeholder-no-private-key.crt "
check "conffiles are exactly the /etc files (got: $conffiles)" test "$conffiles" = "$expected"

# Nothing enabled or started on install (the operator enables notaryd once it is configured).
enabled=$(find /etc/systemd/system -name 'notaryd.*' 2>/dev/null | tr '\n' ' ')
check "no unit enabled on install (found: $enabled)" test -z "$enabled"

# --- the installed binaries and default configuration ----------------------------------------
check "notaryd --version" sh -c 'notaryd --version | grep -qx "notaryd [0-9][0-9.]*"'
if notaryd config check; then pass; else fail "notaryd config check with the installed defaults"; fi
# The default policy accepts nothing: the signed example is rejected (exit 1), not accepted.
rc=0
verdict=$(notaryd verify --oci-layout examples/hello/layout:v1 \
  --scope registry.example/notaryd/hello 2>&1) || rc=$?
check "the packaged trust policy rejects a signed image (exit $rc, expected 1)" test "$rc" = 1
# …and says which policy did it, so an operator who forgot to configure one sees why.
check "the rejection names the unconfigured policy" \
  grep -q 'trust policy "unconfigured-deny-all"' <<<"$verdict"
# The example trust policy is valid (its stores stood in for by the example root).
ex=$(mktemp -d)
cp /usr/share/doc/notaryd/examples/trustpolicy.json "$ex/"
for s in ca/company-root tsa/company-tsa ca/platform-root; do
  mkdir -p "$ex/truststore/x509/$s"
  cp examples/hello/notation/truststore/x509/ca/example/root.crt "$ex/truststore/x509/$s/"
done
check "the example trust policy loads" notaryd config check --notation-config "$ex"
rm -rf "$ex"
# The containerd verifier denies when the daemon does not answer.
rc=0
echo '{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:8d8470c06060cc08fefc2609d386adf261b0f298f353a070337271b3f3efd626","size":1}' |
  NOTARYD_SOCKET=/nonexistent/notaryd.sock NOTARYD_VERIFIER_TIMEOUT_MS=500 \
    /usr/libexec/notaryd/notaryd-containerd-verifier -name registry.example/notaryd/hello:v1 \
    -digest sha256:8d8470c06060cc08fefc2609d386adf261b0f298f353a070337271b3f3efd626 \
    -stdin-media-type application/vnd.oci.descriptor.v1+json >/dev/null || rc=$?
check "the containerd verifier denies without a daemon (exit $rc, expected 1)" test "$rc" = 1

# --- the units, running under a real systemd with all their hardening ------------------------
check "the hardened units work under systemd (scripts/systemd-sandbox-test.sh)" \
  scripts/systemd-sandbox-test.sh

# --- systemd units ---------------------------------------------------------------------------
check "systemd-analyze verify" systemd-analyze verify \
  /usr/lib/systemd/system/notaryd.service /usr/lib/systemd/system/notaryd.socket \
  /usr/lib/systemd/system/notaryd-cri.socket
exposure=$(systemd-analyze security --offline=true /usr/lib/systemd/system/notaryd.service 2>/dev/null |
  sed -n 's/.*Overall exposure level for notaryd.service: \([0-9.]*\).*/\1/p')
echo "package-test: systemd-analyze security notaryd.service: exposure $exposure"
check "exposure $exposure <= 2.0" systemd-analyze security --offline=true --threshold=20 \
  /usr/lib/systemd/system/notaryd.service >/dev/null

# --- the operator's configuration survives a reinstall ---------------------------------------
echo '# changed by the operator' >>/etc/notaryd/config.toml
check "dpkg -i again (upgrade path)" dpkg -i "$deb" >/dev/null
check "a changed conffile is kept" grep -q '^# changed by the operator' /etc/notaryd/config.toml

# --- remove, purge ---------------------------------------------------------------------------
check "dpkg -r" dpkg -r notaryd >/dev/null
check "binaries removed" test ! -e /usr/bin/notaryd -a ! -e /usr/libexec/notaryd
check "conffiles kept after remove" test -f /etc/notaryd/config.toml
check "dpkg -P" dpkg -P notaryd >/dev/null
left=""
for p in /etc/notaryd /var/lib/notaryd /var/log/notaryd /run/notaryd /usr/libexec/notaryd \
  /usr/lib/systemd/system/notaryd.service /usr/lib/systemd/system/notaryd.socket \
  /usr/lib/systemd/system/notaryd-cri.socket \
  /usr/lib/sysusers.d/notaryd.conf /usr/share/doc/notaryd /usr/share/man/man1/notaryd.1.gz \
  /usr/share/bash-completion/completions/notaryd /var/lib/systemd/deb-systemd-helper-enabled/notaryd.service.dsh-also; do
  [ ! -e "$p" ] || left="$left $p"
done
check "nothing left after purge (left:$left)" test -z "$left"
check "package gone from dpkg's database" sh -c '! dpkg-query -W notaryd >/dev/null 2>&1'

# --- the .rpm ----------------------------------------------------------------------------------
echo "package-test: rpm -qlp $rpm"
files=$(rpm -qlp "$rpm" 2>/dev/null)
for f in /usr/bin/notaryd /usr/libexec/notaryd/notaryd-containerd-verifier \
  /etc/notaryd/config.toml /etc/notaryd/trustpolicy.json \
  /etc/notaryd/truststore/x509/ca/unconfigured/placeholder-no-private-key.crt \
  /usr/lib/systemd/system/notaryd.service /usr/lib/systemd/system/notaryd.socket \
  /usr/lib/systemd/system/notaryd-cri.socket \
  /usr/lib/sysusers.d/notaryd.conf /usr/share/man/man1/notaryd.1.gz \
  /usr/share/man/man1/notaryd-serve.1.gz /usr/share/bash-completion/completions/notaryd \
  /usr/share/zsh/site-functions/_notaryd /usr/share/fish/vendor_completions.d/notaryd.fish \
  /usr/share/doc/notaryd/README.md /usr/share/doc/notaryd/examples/trustpolicy.json; do
  check "rpm holds $f" grep -qx "$f" <<<"$files"
done
configs=$(rpm -qp --configfiles "$rpm" 2>/dev/null | sort | tr '\n' ' ')
check "rpm config files are exactly the /etc files (got: $configs)" test "$configs" = "$expected"
check "rpm config files are noreplace" sh -c \
  "rpm -qp --qf '[%{FILEFLAGS:fflags} %{FILENAMES}\n]' '$rpm' 2>/dev/null | grep '^c' | grep -c '^cn ' | grep -qx 3"
modes=$(rpm -qp --qf '[%{FILEMODES:perms} %{FILENAMES}\n]' "$rpm" 2>/dev/null)
check "rpm: notaryd is 0755" grep -qx -- '-rwxr-xr-x /usr/bin/notaryd' <<<"$modes"
check "rpm: config.toml is 0644" grep -qx -- '-rw-r--r-- /etc/notaryd/config.toml' <<<"$modes"
scripts=$(rpm -qp --scripts "$rpm" 2>/dev/null)
check "rpm %pre creates the group" grep -q 'groupadd -r notaryd' <<<"$scripts"
post=$(rpm -qp --qf '%{POSTIN}' "$rpm" 2>/dev/null)
check "rpm %post applies presets" \
  grep -q 'systemctl --no-reload preset notaryd.service notaryd.socket notaryd-cri.socket' <<<"$post"
# The presets are the only way %post may enable anything, and it starts nothing.
check "rpm %post neither enables nor starts a unit itself" \
  bash -c '! grep -qE "systemctl .*(enable|start)" <<<"$1"' _ "$post"
check "rpm %preun disables on erase" \
  grep -q 'disable --now notaryd.service notaryd.socket notaryd-cri.socket' <<<"$scripts"
check "rpm %postun restarts on upgrade" grep -q 'try-restart notaryd.service' <<<"$scripts"

deb_size=$(stat -c %s "$deb")
rpm_size=$(stat -c %s "$rpm")
echo "package-test: $(basename "$deb") $deb_size bytes, $(basename "$rpm") $rpm_size bytes;" \
  "exposure $exposure; build ${build_seconds}s, all $((SECONDS - started))s"
echo "package-test: $((checks - failures)) passed, $failures failed"
[ "$failures" -eq 0 ]
