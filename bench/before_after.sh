#!/usr/bin/env bash
# Before/after a change, in one run: the gateway (custom-template passthrough, judge cache off) and the
# batch runner, each measured for a baseline commit and for this checkout, interleaved so both see the
# same machine. Compare ratios, not absolute figures (docs/benchmarks.md).
#
#   bash bench/before_after.sh BASE_REF            # e.g. 7bb0ba4; ~20 min
#   REPS=3 BATCH_ROUNDS=2 bash bench/before_after.sh BASE_REF
#   SKIP_GATEWAY=1 BATCH_ROUNDS=4 DATABASES=sqlite bash bench/before_after.sh BASE_REF   # batch runner only
#
# The baseline is checked out into a scratch worktree and run with this checkout's venv (its src/ first on
# PYTHONPATH). Results: bench/results/ (gateway summary) and bench/results/batch-before-after-*.jsonl.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BASE_REF="${1:?usage: before_after.sh BASE_REF}"
BASE="$(mktemp -d)/base"
git -C "$ROOT" worktree add --detach "$BASE" "$BASE_REF" >/dev/null
trap 'git -C "$ROOT" worktree remove --force "$BASE" >/dev/null 2>&1 || true' EXIT
mkdir -p "$ROOT/bench/results"

# 1. Gateway: two Jurist targets side by side in the shared harness (LiteLLM skipped unless asked).
SERVE="bash $ROOT/bench/serve_against_stub.sh"
export SKIP_LITELLM="${SKIP_LITELLM:-1}"
export EXTRA_TARGET="before|http://127.0.0.1:8091/v1|sk-bench|pai-judge|$SERVE 8091|PYTHONPATH=$BASE/src;JURIST_CACHE=false
after|http://127.0.0.1:8092/v1|sk-bench|pai-judge|$SERVE 8092|JURIST_CACHE=false"
[[ -n "${SKIP_GATEWAY:-}" ]] || bash "$ROOT/bench/gateway.sh"

# 2. Batch runner: before, after, before, after, ... on SQLite and PostgreSQL.
OUT="$ROOT/bench/results/batch-before-after-$(date +%Y%m%d-%H%M%S).jsonl"
ARGS=(--lines "${LINES:-20000}" --databases "${DATABASES:-sqlite,postgresql}"
      --ingest-lines "${INGEST_LINES:-33000}" --memory-lines "${MEMORY_LINES:-1000,50000}")
for round in $(seq 1 "${BATCH_ROUNDS:-2}"); do
  for side in before after; do
    src="$ROOT/src"; [[ "$side" == before ]] && src="$BASE/src"
    "$ROOT/.venv/bin/python" "$ROOT/bench/batch_throughput.py" "${ARGS[@]}" --source "$src" \
      | sed "s/^{/{\"side\": \"$side\", \"round\": $round, /" | tee -a "$OUT"
  done
done
echo "batch results: $OUT"
