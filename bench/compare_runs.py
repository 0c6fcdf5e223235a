#!/usr/bin/env python3
"""How long a comparison of two 100,000-row runs takes (issue 20: within 2 s), as
``GET /v1/evals/{id}/runs/compare`` does it: both runs' graded rows read from the store (SQLite, or
``--database-url``), paired by item, and compared per criterion (pass and score) and overall.

    PYTHONPATH=src .venv/bin/python bench/compare_runs.py [-n 100000] [--criteria 2] [--database-url URL]
        [--labels 1000]

With ``--labels N``, the first criterion is a single-mode ``jurist_judge`` (scores 1–5), N rows of each run
carry a human label, and the figures anchored on them (``service.evals.anchoring``: labels read, PPI++ per
run and for the paired delta) are timed too, as the comparison endpoint adds them.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import random
import tempfile
import time
from pathlib import Path

from jurist.service.evals.anchoring import anchored_comparison
from jurist.service.evals.compare import Settings, compare
from jurist.store.database import open_database
from jurist.store.eval_records import EvalRecord, EvalRunRecord, OutputItemRecord
from jurist.store.evals import SqlEvalStore
from jurist.store.labels import LabelRecord, SqlLabelStore
from jurist.store.migrations import upgrade


def graded(
    run_id: str, n: int, criteria: int, right: float, seed: int, judged: bool
) -> list[OutputItemRecord]:
    rng = random.Random(seed)
    out = []
    for i in range(n):
        verdicts = "".join("P" if rng.random() < right else "F" for _ in range(criteria))
        scores = tuple(float(rng.randint(1, 5)) if k == 0 and judged else round(rng.random(), 3)
                       for k in range(criteria))  # fmt: skip
        status = "pass" if set(verdicts) == {"P"} else "fail"
        out.append(
            OutputItemRecord(f"oi_{run_id}_{i}", "t", run_id, i, status, verdicts, {}, 0, f"key{i}", scores)
        )
    return out


async def main(a: argparse.Namespace) -> None:
    url = a.database_url or f"sqlite:///{Path(tempfile.mkdtemp()) / 'bench.db'}"
    db = open_database(url)
    await db.open()
    await upgrade(db)
    store = SqlEvalStore(db)
    criteria = [{"name": f"c{k}", "type": "string_check", "id": f"c{k}-x"} for k in range(a.criteria)]
    if a.labels:
        criteria[0] = {"name": "c0", "type": "jurist_judge", "mode": "single", "id": "c0-x"}
    labels = SqlLabelStore(db)
    await store.add_eval(EvalRecord("eval_b", "t", "bench", {"testing_criteria": criteria}, 0, 0))  # type: ignore[dict-item]
    runs = []
    for run_id, right in (("run_a", 0.6), ("run_b", 0.62)):
        digests = {"criteria": {}, "items": "same"}
        run = EvalRunRecord(
            run_id, "t", "eval_b", run_id, "completed", {"digests": digests}, 0, 0, batch_id=f"batch_{run_id}"
        )
        await store.add_run(run)
        rows = graded(run_id, a.n, a.criteria, right, seed=len(runs), judged=bool(a.labels))
        rng = random.Random(len(runs))
        await labels.put([
            LabelRecord("t", f"batch_{run_id}", f"row-{i}", "bench", rng.randint(1, 5), None, 0)
            for i in rng.sample(range(a.n), a.labels)
        ])  # fmt: skip
        for start in range(0, len(rows), 5000):
            await store.put_items([(r, []) for r in rows[start : start + 5000]])
        runs.append(run)
    for _ in range(3):
        gc.collect()  # each round starts from the same heap
        began = time.perf_counter()
        base_rows = await store.graded_rows("t", "run_a")
        candidate_rows = await store.graded_rows("t", "run_b")
        read = time.perf_counter() - began
        found = await asyncio.to_thread(
            compare, runs[0], runs[1], criteria, base_rows, candidate_rows, Settings()
        )
        compared = time.perf_counter() - began
        if a.labels:
            found["anchored"] = await anchored_comparison(
                store,
                labels,
                (runs[0], runs[1]),
                criteria,
                (base_rows, candidate_rows),
                0.05,  # type: ignore[arg-type]
            )
        took = time.perf_counter() - began
        print(f"{a.n} rows × 2 runs, {a.criteria} criteria: {took:.2f} s ({read:.2f} s reading the rows, "
              f"{took - compared:.2f} s anchoring on {a.labels} labels per run); "
              f"overall {found['overall']['decision']}")  # type: ignore[index]  # fmt: skip
    await db.close()


if __name__ == "__main__":
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("-n", type=int, default=100_000)
    p.add_argument("--criteria", type=int, default=2)
    p.add_argument("--database-url", default=None)
    p.add_argument("--labels", type=int, default=0, help="labelled rows per run (anchored figures timed)")
    asyncio.run(main(p.parse_args()))
