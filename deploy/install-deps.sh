#!/usr/bin/env bash
# Installs every build and test dependency of FinetuneCircuits from Debian's apt.
# Idempotent: a machine that already has everything runs no apt command at all.
set -euo pipefail

PKGS=(
  build-essential cmake ninja-build ccache pkg-config git
  libgrpc++-dev libgrpc-dev protobuf-compiler-grpc libprotobuf-dev protobuf-compiler
  libsqlite3-dev sqlite3 libboost-dev libboost-system-dev
  nlohmann-json3-dev libyaml-cpp-dev libcli11-dev libspdlog-dev libfmt-dev
  libgtest-dev libgmock-dev libbenchmark-dev
  libtorch-dev
  curl
)
# Optional extras for cross-checks and tooling; their absence never fails the build.
OPTIONAL=(python3-torch docker-compose)

missing=()
for p in "${PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
if [ ${#missing[@]} -gt 0 ]; then
  echo "install-deps: installing ${missing[*]}"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
if [ "${FC_INSTALL_OPTIONAL:-1}" = "1" ]; then
  opt_missing=()
  for p in "${OPTIONAL[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || opt_missing+=("$p")
  done
  if [ ${#opt_missing[@]} -gt 0 ]; then
    [ ${#missing[@]} -gt 0 ] || $SUDO apt-get update -qq || true
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${opt_missing[@]}" \
      || echo "install-deps: optional packages ${opt_missing[*]} not installed (cross-checks skipped)"
  fi
fi
echo "install-deps: ok"
