#!/usr/bin/env bash
# Runs the INSTALLED notaryd.socket and notaryd.service under a real systemd, with every
# hardening setting of the units in force, and checks that notaryd works inside that sandbox:
# socket activation of both sockets (verifier first, CRI proxy second), Type=notify start,
# ExecStartPre and ExecReload (`notaryd config check`), a signed image pulled over TCP from a
# local registry and accepted, an image with no signature refused, the CRI proxy reaching containerd's
# root-only socket with no capability, the audit log in LogsDirectory, a clean stop.
# `systemd-analyze verify` and `security` only read the units; this runs them.
#
# This machine's PID 1 is not systemd, so a systemd is booted in new PID, mount, cgroup, UTS
# and IPC namespaces (the network is shared: the registry listens on 127.0.0.1). It boots a
# target of its own that pulls in nothing of the host's boot: no tmpfiles (which would empty
# the host's /tmp), sysctl, sysusers, timers or units of other packages. /run, /tmp and
# /var/log are private tmpfs mounts and /proc/sys is read-only (systemd raises kernel limits
# at boot); the test's /etc/notaryd is bind-mounted over the installed one inside the
# namespace only. Everything started dies with the namespace.
#
# Called by scripts/package-test.sh with the notaryd package installed; prints
# "systemd-sandbox: N passed, N failed" and exits non-zero on any failure.
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$(pwd)

failures=0
checks=0
check() { # description command...
  local what=$1
  shift
  checks=$((checks + 1))
  if "$@"; then :; else
    failures=$((failures + 1))
    echo "systemd-sandbox: FAIL: $what" >&2
  fi
}

for tool in unshare nsenter docker-registry containerd ctr curl python3 /lib/systemd/systemd; do
  command -v "$tool" >/dev/null || { echo "systemd-sandbox: $tool is missing" >&2; exit 1; }
done
[ -f /usr/lib/systemd/system/notaryd.service ] ||
  { echo "systemd-sandbox: the notaryd package is not installed" >&2; exit 1; }

# The work directory must be visible inside the namespace, where /run is replaced.
work=$(mktemp -d "$repo/target/systemd-sandbox.XXXXXX")
case "$work" in /run/*) echo "systemd-sandbox: $work is under /run" >&2; exit 1 ;; esac
cgroot=$(findmnt -n -t cgroup2 -o TARGET | head -n 1)
[ -n "$cgroot" ] || { echo "systemd-sandbox: no cgroup2 hierarchy mounted" >&2; exit 1; }
cg="$cgroot/notaryd-systemd-sandbox-$$"
sd_pid=""
launcher_pid=""

NS() { nsenter -t "$sd_pid" -m -p -C -u -i "$@"; }
cleanup() {
  # Stop the units first, so that systemd ends them cleanly before it is killed.
  if [ -n "$sd_pid" ] && kill -0 "$sd_pid" 2>/dev/null; then
    NS systemctl stop notaryd.service notaryd.socket notaryd-cri.socket >/dev/null 2>&1 || true
    kill -KILL "$sd_pid" 2>/dev/null || true
  fi
  if [ -n "$launcher_pid" ]; then wait "$launcher_pid" 2>/dev/null || true; fi
  if [ -d "$cg" ]; then
    for _ in 1 2 3 4 5; do
      find "$cg" -depth -type d -exec rmdir {} + 2>/dev/null || true
      [ -d "$cg" ] || break
      sleep 0.5
    done
  fi
  rm -rf "$work"
}
trap cleanup EXIT

# --- the configuration under test: the installed one, plus a trust policy that accepts the
# signed example image at the local registry (the installed policy accepts nothing) ---------
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
registry="127.0.0.1:$port"
etc="$work/etc-notaryd"
cp -a /etc/notaryd "$etc"
cp -r examples/hello/notation/truststore/x509/ca/example "$etc/truststore/x509/ca/"
sed -e "s#\"registry.example/notaryd/hello\"#\"$registry/notaryd/hello\", \"$registry/notaryd/unsigned\"#" \
  examples/hello/notation/trustpolicy.json >"$etc/trustpolicy.json"
grep -q "$registry/notaryd/unsigned" "$etc/trustpolicy.json" ||
  { echo "systemd-sandbox: could not scope the test policy" >&2; exit 1; }
mkdir -p "$etc/certs.d/$registry"
printf 'server = "http://%s"\n\n[host."http://%s"]\n  capabilities = ["pull", "resolve"]\n' \
  "$registry" "$registry" >"$etc/certs.d/$registry/hosts.toml"
python3 - "$etc/config.toml" <<'EOF'
import sys
path = sys.argv[1]
text = open(path).read()
for old, new in [
    ('hosts_dir = "/etc/containerd/certs.d"', 'hosts_dir = "/etc/notaryd/certs.d"'),
    ('# socket = "/run/notaryd/cri.sock"', 'socket = "/run/notaryd/cri.sock"'),
    ('# path = "/var/log/notaryd/audit.jsonl"', 'path = "/var/log/notaryd/audit.jsonl"'),
]:
    assert old in text, f"{old!r} is not in the packaged config.toml"
    text = text.replace(old, new)
open(path, "w").write(text)
EOF
cat >"$work/registry.yml" <<EOF
version: 0.1
storage:
  filesystem:
    rootdirectory: $work/registry
http:
  addr: $registry
EOF
cat >"$work/containerd.toml" <<EOF
version = 2
root = "$work/containerd"
state = "/run/containerd"
[grpc]
  address = "/run/containerd/containerd.sock"
EOF

# --- boot -----------------------------------------------------------------------------------
cat >"$work/boot.sh" <<EOF
#!/bin/sh
set -e
mount --make-rprivate /
mount -t proc proc /proc
# systemd as PID 1 raises fs.nr_open, fs.file-max and net.unix.max_dgram_qlen at boot: a
# read-only /proc/sys keeps the host's values.
mount --bind /proc/sys /proc/sys
mount -o remount,bind,ro /proc/sys
mount -t tmpfs -o mode=755 tmpfs /run
# Private /tmp (PrivateTmp= directories) and /var/log (journal, LogsDirectory=): nothing of
# the test lands in the host's.
mount -t tmpfs -o mode=1777 tmpfs /tmp
mount -t tmpfs -o mode=755 tmpfs /var/log
mount -t tmpfs -o mode=755 tmpfs /sys/fs/cgroup
mount -t cgroup2 cgroup2 /sys/fs/cgroup
mount --bind "$etc" /etc/notaryd
mkdir -p /run/systemd/system/notaryd.socket.d /run/systemd/system/notaryd-cri.socket.d \
  /run/systemd/system/notaryd.service.d
# The test's default target: journald and nothing else of the host's boot.
printf '[Unit]\nDescription=notaryd sandbox test\nDefaultDependencies=no\nWants=systemd-journald.socket\n' \
  >/run/systemd/system/notaryd-sandbox-test.target
# The units keep every setting but their default dependencies on sysinit.target and
# basic.target, which would start the host's boot.
for u in notaryd.socket notaryd-cri.socket notaryd.service; do
  printf '[Unit]\nDefaultDependencies=no\n' >/run/systemd/system/\$u.d/no-boot.conf
done
# Socket activation of the CRI proxy socket (notaryd-cri.socket), as the packaged example
# drop-in hands it to notaryd.service.
cp "$repo/packaging/examples/notaryd.service-cri.conf" /run/systemd/system/notaryd.service.d/cri.conf
exec env container=notaryd-sandbox-test /lib/systemd/systemd --system \
  --unit=notaryd-sandbox-test.target --log-target=console --show-status=no
EOF
chmod +x "$work/boot.sh"
mkdir "$cg"
# The launcher moves itself into the test's cgroup and becomes unshare, whose child is systemd.
bash -c 'echo $$ >"$1/cgroup.procs" && exec unshare --pid --fork --kill-child \
  --mount --cgroup --uts --ipc "$2"' _ "$cg" "$work/boot.sh" >"$work/systemd.log" 2>&1 </dev/null &
launcher_pid=$!
for _ in $(seq 1 100); do
  sd_pid=$(pgrep -P "$launcher_pid" || true)
  if [ -n "$sd_pid" ] && [ "$(cat /proc/"$sd_pid"/comm 2>/dev/null)" = systemd ] &&
    NS systemctl is-system-running --wait >/dev/null 2>&1; then
    break
  fi
  sleep 0.2
done
if [ -z "$sd_pid" ] || ! NS systemctl is-active --quiet notaryd-sandbox-test.target; then
  echo "systemd-sandbox: systemd did not boot in the namespace:" >&2
  cat "$work/systemd.log" >&2
  exit 1
fi
echo "systemd-sandbox: systemd $(NS systemctl --version | head -n 1 | cut -d' ' -f2) booted (pid $sd_pid)"

# Helpers inside the namespace die with it.
NS sh -c "setsid docker-registry serve '$work/registry.yml' >'$work/registry.log' 2>&1 </dev/null &"
NS sh -c "setsid containerd --config '$work/containerd.toml' >'$work/containerd.log' 2>&1 </dev/null &"
for _ in $(seq 1 50); do
  curl -fs "http://$registry/v2/" >/dev/null 2>&1 && NS test -S /run/containerd/containerd.sock && break
  sleep 0.2
done
python3 scripts/push-oci-layout.py examples/hello/layout "http://$registry" notaryd/hello >/dev/null
python3 scripts/push-oci-layout.py --unsigned examples/hello/layout "http://$registry" notaryd/unsigned >/dev/null

# --- the units ------------------------------------------------------------------------------
check "notaryd.socket and notaryd-cri.socket start" NS systemctl start notaryd.socket notaryd-cri.socket
mode_is() { # mode:owner:group path
  local got
  got=$(NS stat -c '%a:%U:%G' "$2" 2>/dev/null || echo missing)
  [ "$got" = "$1" ] || { echo "  $2: $got, expected $1" >&2; return 1; }
}
check "verifier socket 0660 root:notaryd" mode_is 660:root:notaryd /run/notaryd/notaryd.sock
check "CRI proxy socket 0600 root:root" mode_is 600:root:root /run/notaryd/cri.sock
check "notaryd.service is not running before the first connection" \
  sh -c '! nsenter -t "$0" -m -p -C -u -i systemctl is-active --quiet notaryd.service' "$sd_pid"

signed="$registry/notaryd/hello:v1"
out=$(NS timeout 60 notaryd verify --daemon "$signed" 2>&1) || true
check "the first connection starts notaryd.service" NS systemctl is-active --quiet notaryd.service
check "the sandboxed daemon accepts the signed image (got: ${out%%$'\n'*})" \
  grep -q "^ACCEPTED $signed" <<<"$out"
rc=0
out=$(NS timeout 60 notaryd verify --daemon "$registry/notaryd/unsigned:v1" 2>&1) || rc=$?
check "the same image without its signatures is rejected (exit $rc, expected 1: ${out%%$'\n'*})" \
  test "$rc" = 1
journal=$(NS journalctl -u notaryd.service --no-pager -o cat 2>/dev/null)
check "the verifier socket came from systemd" \
  grep -q "verifier: serving on the socket passed by systemd" <<<"$journal"
check "the CRI proxy socket came from systemd" \
  grep -q "CRI proxy: serving on the socket passed by systemd" <<<"$journal"
check "ExecStartPre ran notaryd config check" grep -q "^configuration OK" <<<"$journal"
# A CRI ImageFsInfo through the proxy (gRPC over HTTP/2 with curl: an empty request frame)
# answered by containerd means the capability-less daemon reached its root:root 0660 socket.
printf '\0\0\0\0\0' >"$work/empty-grpc-frame"
cri_call() { # method: prints the response headers and trailers
  NS timeout 30 curl -sS --http2-prior-knowledge --unix-socket /run/notaryd/cri.sock \
    -H 'content-type: application/grpc' -H 'te: trailers' --data-binary @"$work/empty-grpc-frame" \
    -o /dev/null -D - "http://localhost/$1"
}
check "the CRI proxy reaches containerd's socket (ImageFsInfo)" \
  grep -q '^grpc-status: 0' <<<"$(cri_call runtime.v1.ImageService/ImageFsInfo)"
# containerd's own API is on the same socket behind the proxy; the proxy must not pass it on.
check "the CRI proxy refuses containerd's API (Unimplemented)" \
  grep -q '^grpc-status: 12' <<<"$(cri_call containerd.services.version.v1.Version/Version)"
check "the audit log is written in LogsDirectory" \
  NS grep -q '"outcome":"accepted"' /var/log/notaryd/audit.jsonl
check "systemctl reload (config check, then SIGHUP)" NS systemctl reload notaryd.service
sleep 0.5
check "the reload is taken" sh -c \
  'nsenter -t "$0" -m -p -C -u -i journalctl -u notaryd.service --no-pager -o cat | grep -q "reloaded (SIGHUP)"' "$sd_pid"
check "systemctl stop" NS systemctl stop notaryd.service
state=$(NS systemctl show notaryd.service -p Result -p NRestarts -p ExecMainStatus --value | tr '\n' ' ')
check "it stopped cleanly, never restarted (Result NRestarts ExecMainStatus: $state)" \
  test "$state" = "success 0 0 "

echo "systemd-sandbox: $((checks - failures)) passed, $failures failed"
if [ "$failures" -ne 0 ]; then
  echo "--- journal of notaryd.service" >&2
  NS journalctl -u notaryd.service --no-pager -o cat >&2 || true
fi
[ "$failures" -eq 0 ]
