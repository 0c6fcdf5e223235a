#!/usr/bin/env bash
# Start Jurist with pai-judge and pai-judge-plus pointed at the benchmark stub ($STUB_URL, set by the
# shared harness). Usage: serve_against_stub.sh PORT
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PORT="${1:-8090}"
WORK="$(mktemp -d)"
cat > "$WORK/jurist.toml" <<TOML
[models.pai-judge]
backend = "openai"
base_url = "${STUB_URL:-http://127.0.0.1:18000/v1}"
model = "stub-judge"

[models.pai-judge-plus]
backend = "openai"
base_url = "${STUB_URL:-http://127.0.0.1:18000/v1}"
model = "stub-judge"
TOML
export JURIST_CONFIG="$WORK/jurist.toml" JURIST_DATA_DIR="$WORK/data" JURIST_API_KEYS="${JURIST_API_KEYS:-sk-bench}"
export JURIST_LOG_LEVEL=warning
exec "$ROOT/.venv/bin/jurist" serve --host 127.0.0.1 --port "$PORT"
