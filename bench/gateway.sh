#!/usr/bin/env bash
# Jurist's gateway side by side with LiteLLM's proxy, through the shared harness (../shared/bench),
# in one run: same stub, Jurist pinned to one core (SUT_CPUS=1), stub + load generator on the other.
#
#   bash bench/gateway.sh            # full run (~10 min): C=1,16,64; delay 0 and 50 ms; 3 reps
#   QUICK=1 bash bench/gateway.sh    # smoke run
#
# The shared folder is read-only, so the harness is copied to a scratch dir; results land in
# bench/results/. Any knob of run_anchor.sh (REPS, RUN_SECONDS, CONCURRENCY, DELAYS, SKIP_LITELLM) works.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
SHARED="${SHARED_BENCH:-$ROOT/../shared/bench}"
WORK="$(mktemp -d)"
cp -r "$SHARED/." "$WORK/"
chmod -R u+w "$WORK"
mkdir -p "$WORK/results" "$ROOT/bench/results"
# The judge cache is off: every benchmark request would otherwise be a cache hit after the first.
# EXTRA_TARGET, when set (bench/before_after.sh), replaces the default Jurist target.
export EXTRA_TARGET="${EXTRA_TARGET:-jurist|http://127.0.0.1:8090/v1|sk-bench|pai-judge|bash $ROOT/bench/serve_against_stub.sh 8090|JURIST_CACHE=false}"
trap 'cp -r "$WORK/results/." "$ROOT/bench/results/" 2>/dev/null || true' EXIT
bash "$WORK/run_anchor.sh" "$@"
