#!/usr/bin/env bash
# The README's test command: install, build, run every test suite with ctest.
set -euo pipefail
cd "$(dirname "$0")/.."
bash deploy/build.sh
BUILD_DIR=${FC_BUILD_DIR:-build}
cd "$BUILD_DIR"
ctest --output-on-failure -j "${FC_TEST_JOBS:-2}" --timeout 900 "$@"
