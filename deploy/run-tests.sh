#!/usr/bin/env bash
# The README's test command: install, build, run every test suite with ctest.
set -euo pipefail
cd "$(dirname "$0")/.."
# Benchmarks are not tests: skip building them here (deploy/build.sh builds them by default).
FC_CMAKE_ARGS="${FC_CMAKE_ARGS:--DFC_BUILD_BENCH=OFF}" bash deploy/build.sh
BUILD_DIR=${FC_BUILD_DIR:-build}
cd "$BUILD_DIR"
# ctest runs two test processes at once on this 2-core class of machine: one OpenMP thread each,
# and no busy-waiting OpenMP workers stealing the other test's core.
export OMP_NUM_THREADS=${OMP_NUM_THREADS:-1}
export OMP_WAIT_POLICY=${OMP_WAIT_POLICY:-PASSIVE}
ctest --output-on-failure -j "${FC_TEST_JOBS:-2}" --timeout 900 "$@"
