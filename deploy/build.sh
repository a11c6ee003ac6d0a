#!/usr/bin/env bash
# Installs dependencies (idempotent) and builds everything into ${FC_BUILD_DIR:-build}.
set -euo pipefail
cd "$(dirname "$0")/.."
bash deploy/install-deps.sh
BUILD_DIR=${FC_BUILD_DIR:-build}
# Let ccache share objects between clones in different folders (CI builds a fresh clone).
export CCACHE_BASEDIR=${CCACHE_BASEDIR:-$PWD}
export CCACHE_NOHASHDIR=${CCACHE_NOHASHDIR:-1}
command -v ccache >/dev/null && ccache --max-size=20G >/dev/null 2>&1 || true
cmake -S . -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE=${FC_BUILD_TYPE:-RelWithDebInfo} ${FC_CMAKE_ARGS:-} >/dev/null
# Two cores and LibTorch translation units of ~1.5 GiB each: -j2 is the sweet spot here.
ninja -C "$BUILD_DIR" -j "${FC_JOBS:-$(nproc)}" ${FC_TARGETS:-}
