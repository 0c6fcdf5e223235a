#!/usr/bin/env bash
# `jurist eval` on the PandaLM test set with the embedded model (Gemma 3 270M base): pai-judge vs
# pai-judge-plus, each from an empty data dir (no cache), both orders per item as `jurist eval` does,
# one criterion (Accuracy) to keep the verdicts short, llama.cpp on both cores (JURIST_EMBEDDED_N_THREADS=2).
#   bash bench/eval_embedded.sh [ITEMS_PAI_JUDGE] [ITEMS_PAI_JUDGE_PLUS]
# Writes bench/results/eval_<model>_<items>.json (accuracy, agreement, baselines, timing, predictions).
set -euo pipefail
cd "$(dirname "$0")/.."
plain=${1:-30}
plus=${2:-15}
data=tests/data/pandalm/testset-v1.json
mkdir -p bench/results
for spec in "pai-judge:$plain" "pai-judge-plus:$plus"; do
  model=${spec%%:*}
  items=${spec##*:}
  dir=$(mktemp -d)
  echo "== $model on the first $items items (data dir $dir)"
  JURIST_DATA_DIR=$dir JURIST_EMBEDDED_N_THREADS=${JURIST_EMBEDDED_N_THREADS:-2} .venv/bin/jurist eval "$data" --model "$model" --limit "$items" \
    --criterion Accuracy --json "bench/results/eval_${model}_${items}.json"
  rm -rf "$dir"
done
