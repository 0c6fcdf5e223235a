"""The Evals API with the SDK version the protocol note was written from (openai 3.3.1, whose
``runs.cancel`` posts to ``/evals/{id}/runs/{run_id}``) as well as the newest one the registry serves (the
rest of the suite runs on that one, whose cancel posts to ``…/cancel``). The old SDK is installed from the
package registry into a cache folder once and run in a subprocess against a live server."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from tests.support.live import LiveServer
from tests.support.services import API_KEY

OLD_SDK = "3.3.1"
CACHE = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "jurist-tests" / f"openai-{OLD_SDK}"

SCRIPT = r"""
import json, sys, time, warnings
warnings.simplefilter("ignore")
import openai
client = openai.OpenAI(base_url=sys.argv[1], api_key=sys.argv[2], max_retries=0)
made = client.evals.create(
    name="old sdk",
    data_source_config={"type": "custom", "item_schema": {"type": "object"}, "include_sample_schema": True},
    testing_criteria=[{"type": "string_check", "name": "eq", "input": "{{sample.output_text}}",
                       "reference": "{{item.answer}}", "operation": "eq"}],
)
rows = [{"item": {"answer": str(i % 2)}, "sample": {"output_text": "1"}} for i in range(6)]
run = client.evals.runs.create(made.id, data_source={"type": "jsonl", "source": {"type": "file_content", "content": rows}})
while (run := client.evals.runs.retrieve(run.id, eval_id=made.id)).status not in ("completed", "failed"):
    time.sleep(0.1)
items = list(client.evals.runs.output_items.list(run.id, eval_id=made.id, limit=2))
second = client.evals.runs.create(made.id, data_source={"type": "jsonl", "source": {"type": "file_content", "content": rows}})
canceled = client.evals.runs.cancel(second.id, eval_id=made.id)
runs = [r.id for r in client.evals.runs.list(made.id)]
deleted = client.evals.runs.delete(run.id, eval_id=made.id)
print(json.dumps({
    "version": openai.__version__, "status": run.status, "passed": run.result_counts.passed,
    "total": run.result_counts.total, "items": [i.status for i in items], "canceled": canceled.status,
    "runs": len(runs), "deleted": deleted.deleted, "evals": [e.id for e in client.evals.list()] == [made.id],
}))
"""


def old_sdk() -> Path:
    if not (CACHE / "openai" / "__init__.py").exists():
        CACHE.parent.mkdir(parents=True, exist_ok=True)
        partial = CACHE.with_suffix(".partial")
        subprocess.run(
            [sys.executable, "-m", "pip", "install", "-q", "--target", str(partial), f"openai=={OLD_SDK}"],
            check=True, timeout=300,
        )  # fmt: skip
        partial.rename(CACHE)
    return CACHE


def test_the_pinned_older_sdk_runs_every_method(server: LiveServer) -> None:
    env = {**os.environ, "PYTHONPATH": str(old_sdk())}
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT, server.base_url, API_KEY], env=env, capture_output=True, text=True,
        timeout=120,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    found = json.loads(done.stdout.strip().splitlines()[-1])
    assert found == {
        "version": OLD_SDK, "status": "completed", "passed": 3, "total": 6,
        "items": ["fail", "pass", "fail", "pass", "fail", "pass"], "canceled": found["canceled"], "runs": 2,
        "deleted": True, "evals": True,
    }  # fmt: skip
    assert found["canceled"] in ("canceled", "completed")  # the old path: POST …/runs/{run_id}
