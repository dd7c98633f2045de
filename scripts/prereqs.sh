# Sourced by scripts/*.sh: installs what a fresh Debian 12 machine (as root) lacks to build
# notaryd — a C compiler for aws-lc-sys, protoc for the gRPC code (build.rs), curl for
# rustup, and the Rust toolchain with rustfmt and clippy — and puts cargo on PATH. Each step
# runs only when its tool is missing. Extra
# Debian packages a caller needs are its arguments (scripts/test.sh: docker-registry, openssl,
# systemd, containerd, python3-grpcio).

need_apt=()
command -v cc >/dev/null 2>&1 || need_apt+=(build-essential)
command -v curl >/dev/null 2>&1 || need_apt+=(curl)
[ -e /etc/ssl/certs/ca-certificates.crt ] || need_apt+=(ca-certificates)
command -v git >/dev/null 2>&1 || need_apt+=(git)
command -v protoc >/dev/null 2>&1 || [ -n "${PROTOC:-}" ] || need_apt+=(protobuf-compiler)
for pkg in "$@"; do
  dpkg -s "$pkg" >/dev/null 2>&1 || need_apt+=("$pkg")
done
if [ ${#need_apt[@]} -gt 0 ]; then
  echo "prereqs: apt-get install ${need_apt[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${need_apt[@]}"
fi

if ! command -v cargo >/dev/null 2>&1 && [ -x "$HOME/.cargo/bin/cargo" ]; then
  export PATH="$HOME/.cargo/bin:$PATH"
fi
if ! command -v cargo >/dev/null 2>&1; then
  echo "prereqs: installing the Rust toolchain with rustup"
  curl --proto '=https' --tlsv1.2 -sSf https://sh.rustup.rs |
    sh -s -- -y --profile minimal --default-toolchain stable --component rustfmt,clippy
  export PATH="$HOME/.cargo/bin:$PATH"
fi
if command -v rustup >/dev/null 2>&1; then
  for c in rustfmt clippy; do
    rustup component list --installed 2>/dev/null | grep -q "^$c" || rustup component add "$c"
  done
fi
