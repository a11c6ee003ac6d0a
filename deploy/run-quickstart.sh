#!/usr/bin/env bash
# The README's run command. Builds (deploy/build.sh), starts fc-coordinator (SQLite under
# ./.fc-demo/) and one local fc-worker on loopback, submits an experiment, watches it to the end
# with fcctl, prints the job table, stops both processes. Exit code: 0 iff the experiment
# succeeded.
#   deploy/run-quickstart.sh [EXPERIMENT.yaml]
# Default experiment: examples/quickstart.yaml when it exists, else examples/smoke.yaml.
# Environment: FC_BUILD_DIR (build), FC_DEMO_DIR (.fc-demo), FC_DEMO_SLOTS (worker slots, 2),
# FC_DEMO_KEEP=1 keeps the previous demo database instead of starting fresh, FC_SKIP_BUILD=1.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD

EXP=${1:-}
if [ -z "$EXP" ]; then
  if [ -f examples/quickstart.yaml ]; then EXP=examples/quickstart.yaml; else EXP=examples/smoke.yaml; fi
fi
[ -f "$EXP" ] || { echo "run-quickstart: experiment file '$EXP' not found" >&2; exit 2; }

if [ "${FC_SKIP_BUILD:-0}" != "1" ]; then
  FC_TARGETS=${FC_TARGETS:-fc-coordinator fc-worker fcctl} bash deploy/build.sh
fi
BUILD_DIR=${FC_BUILD_DIR:-build}
find_bin() {
  local p
  p=$(find "$BUILD_DIR" -name CMakeFiles -prune -o -type f -name "$1" -perm -u+x -print 2>/dev/null | head -n1)
  [ -n "$p" ] || { echo "run-quickstart: $1 not built under $BUILD_DIR" >&2; exit 1; }
  echo "$p"
}
COORD=$(find_bin fc-coordinator)
WORKER=$(find_bin fc-worker)
FCCTL=$(find_bin fcctl)

DEMO=${FC_DEMO_DIR:-$ROOT/.fc-demo}
[ "${FC_DEMO_KEEP:-0}" = "1" ] || rm -rf "$DEMO"
mkdir -p "$DEMO"
rm -f "$DEMO/ready.json"

coord_pid=""
worker_pid=""
cleanup() {
  # Worker first (SIGTERM = drain), then the coordinator.
  if [ -n "$worker_pid" ] && kill -0 "$worker_pid" 2>/dev/null; then
    kill -TERM "$worker_pid" 2>/dev/null || true
    wait "$worker_pid" 2>/dev/null || true
  fi
  if [ -n "$coord_pid" ] && kill -0 "$coord_pid" 2>/dev/null; then
    kill -TERM "$coord_pid" 2>/dev/null || true
    wait "$coord_pid" 2>/dev/null || true
  fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

"$COORD" --listen 127.0.0.1:0 --http 127.0.0.1:0 --db "$DEMO/fc.db" --artifacts "$DEMO/artifacts" \
  --ready-file "$DEMO/ready.json" >"$DEMO/coordinator.log" 2>&1 &
coord_pid=$!
for _ in $(seq 1 300); do
  [ -s "$DEMO/ready.json" ] && break
  kill -0 "$coord_pid" 2>/dev/null || { echo "run-quickstart: fc-coordinator exited; see $DEMO/coordinator.log" >&2; tail -n 20 "$DEMO/coordinator.log" >&2; exit 1; }
  sleep 0.1
done
[ -s "$DEMO/ready.json" ] || { echo "run-quickstart: fc-coordinator not ready after 30 s; see $DEMO/coordinator.log" >&2; exit 1; }
ADDR=$(sed -n 's/.*"grpc" *: *"\([^"]*\)".*/\1/p' "$DEMO/ready.json")
HTTP=$(sed -n 's/.*"http" *: *"\([^"]*\)".*/\1/p' "$DEMO/ready.json")
echo "run-quickstart: coordinator gRPC $ADDR, HTTP http://$HTTP (logs in $DEMO/)"

"$WORKER" --coordinator "$ADDR" --device cpu --slots "${FC_DEMO_SLOTS:-2}" --name demo-worker \
  --work-dir "$DEMO/work" --drain-grace-s 10 >"$DEMO/worker.log" 2>&1 &
worker_pid=$!

submitted_at=$SECONDS
EXP_ID=$("$FCCTL" --coordinator "$ADDR" submit "$EXP")
echo "run-quickstart: submitted $EXP as experiment $EXP_ID"
rc=0
"$FCCTL" --coordinator "$ADDR" watch "$EXP_ID" || rc=$?
echo
"$FCCTL" --coordinator "$ADDR" status "$EXP_ID" || true
if [ "$rc" -eq 0 ]; then
  # The stage-wise tracking report (tables here, SVG plots and report.json under $DEMO/report).
  # Experiments without science jobs (smoke.yaml) have nothing to track: say so, not fail.
  echo
  "$FCCTL" --coordinator "$ADDR" --http "$HTTP" report "$EXP_ID" --out "$DEMO/report" \
    || echo "run-quickstart: no tracking report for $EXP_ID"
  echo "run-quickstart: experiment $EXP_ID SUCCEEDED in $((SECONDS - submitted_at)) s (outputs under $DEMO/work, plots under $DEMO/report)"
else
  echo "run-quickstart: experiment $EXP_ID did not succeed (exit $rc); logs in $DEMO/" >&2
fi
exit "$rc"
