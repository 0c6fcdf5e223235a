#!/usr/bin/env bash
# Server CPU per request of each request kind through the stub: custom template (passthrough), single
# and pairwise judge modes. Jurist is pinned to CPU 1, the stub and the load generator to CPU 0, as in
# the shared harness. Loopback only; every run is bounded in count and time.
#
#   bash bench/judge_modes.sh            # C=1,16,64, 3000 requests per cell (C=1: 1000)
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PY="$ROOT/.venv/bin/python"
STUB_PORT="${STUB_PORT:-18100}"; PORT="${PORT:-8091}"
export STUB_URL="http://127.0.0.1:${STUB_PORT}/v1"
taskset -c 0 "$PY" "$ROOT/tests/support/stub_upstream.py" --port "$STUB_PORT" >/dev/null 2>&1 &
STUB=$!
taskset -c 1 bash "$ROOT/bench/serve_against_stub.sh" "$PORT" >/dev/null 2>&1 &
SERVER=$!
trap 'kill $SERVER $STUB 2>/dev/null || true' EXIT
for _ in $(seq 100); do curl -sf "http://127.0.0.1:${PORT}/healthz" >/dev/null && break; sleep 0.1; done
for mode in custom single pairwise; do
  for c in ${CONCURRENCY:-1 16 64}; do
    n=3000; [[ "$c" == 1 ]] && n=1000
    taskset -c 0 "$PY" "$ROOT/bench/judge_load.py" --base-url "http://127.0.0.1:${PORT}/v1" \
      --pid "$SERVER" --mode "$mode" -c "$c" -n "$n" --warmup 200
  done
done
