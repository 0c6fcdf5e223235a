#!/usr/bin/env python3
"""The console's review page on a large batch: how long a page takes the server.

    PYTHONPATH=src .venv/bin/python bench/console_review.py [--lines 50000] [--repeat 20]

A live Jurist server (real HTTP on loopback, in this process, the scripted pairwise judges of the trust
tests: swap on, so every line holds two swap games) runs a ``--lines`` pairwise batch (a tenth HARD:
swap-inconsistent) through the real runner. Then, signed in to the console as a person is, it times
GET /console/batches/{id}/review: the first view (which builds the batch's review index: both files
scanned once, off the event loop), then later views (the index kept: only the page's two lines read)
at the first, middle and last line, with the swap-inconsistent filter, and with the disagreement filter
(which reads the batch's labels: 1,000 posted first). Then the labels use case the page goes through:
the agreement figures, one label from the page (the labels, then the calibrations refitted), and review
pages served while that label is being stored. Times are request round trips on loopback, which is the
server's time plus well under a millisecond; the median and max of ``--repeat`` runs.
"""

from __future__ import annotations

import argparse
import http.client
import json
import re
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from tests.support import http as raw  # noqa: E402
from tests.support.batches import create_batch_raw, upload_raw, wait_for_raw  # noqa: E402
from tests.support.http import Server  # noqa: E402
from tests.support.live import live_server  # noqa: E402
from tests.support.services import API_KEY, FAKE_MODELS  # noqa: E402
from tests.support.trust import Judge, headers, lines  # noqa: E402


def long_request(url: str, body: str, headers: dict[str, str]) -> tuple[int, bytes, float]:
    """A POST with room for a slow answer (the labels use case reads the whole output file)."""
    parts = urlsplit(url)
    conn = http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port, timeout=900)
    try:
        started = time.perf_counter()
        conn.request("POST", parts.path, body, headers)
        resp = conn.getresponse()
        data = resp.read()
        return resp.status, data, time.perf_counter() - started
    finally:
        conn.close()


def sign_in(origin: str) -> str:
    """A console session cookie, signing in through the form (its double-submit token included)."""
    form = raw.request("GET", f"{origin}/console/sign-in")
    token = re.search(r'name="form_token" value="([^"]+)"', form.body.decode())
    cookie = form.headers["set-cookie"].split(";")[0]
    assert token, "no form token on the sign-in page"
    body = f"api_key={API_KEY}&form_token={token.group(1)}&next=/console/"
    parts = urlsplit(origin)
    conn = http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port, timeout=30)
    try:
        conn.request(
            "POST", "/console/sign-in", body,
            {"Content-Type": "application/x-www-form-urlencoded", "Cookie": cookie},
        )  # fmt: skip
        resp = conn.getresponse()
        resp.read()
        assert resp.status == 303, resp.status
        sessions = [v for k, v in resp.getheaders() if k.lower() == "set-cookie" and "jurist_session=" in v]
    finally:
        conn.close()
    return sessions[0].split(";")[0]


def timed(url: str, cookie: str, expect: bytes) -> float:
    started = time.perf_counter()
    resp = raw.request("GET", url, headers={"Cookie": cookie})  # within 60 s
    elapsed = time.perf_counter() - started
    assert resp.status == 200 and expect in resp.body, (resp.status, resp.body[:300])
    return elapsed


def post_label(base: str, cookie: str, csrf: str, n: int) -> float:
    body = json.dumps({"custom_id": f"e{2 * n}", "label": "1", "annotator": "bench"})
    headers = {"Cookie": cookie, "X-CSRF-Token": csrf, "Content-Type": "application/json"}
    status, data, elapsed = long_request(f"{base}/labels", body, headers)
    assert status == 200, data[:300]
    return elapsed


def main() -> None:
    sys.stdout.reconfigure(line_buffering=True)  # type: ignore[union-attr]  # progress while the batch runs
    parser = argparse.ArgumentParser()
    parser.add_argument("--lines", type=int, default=50_000)
    parser.add_argument("--repeat", type=int, default=20)
    args = parser.parse_args()
    hard = args.lines // 10
    with tempfile.TemporaryDirectory() as tmp:
        backends = dict.fromkeys(FAKE_MODELS, Judge(biased=True))
        options = {"models": FAKE_MODELS, "backends": backends, "max_file_bytes": 256 << 20}
        with live_server(Path(tmp), **options) as server:
            origin = server.base_url.removesuffix("/v1")
            batch = lines("pai-judge", args.lines - hard, hard)
            started = time.perf_counter()
            batch_id = run_long(server, batch)
            print(f"batch of {args.lines} lines ran in {time.perf_counter() - started:.0f} s")
            labels = json.dumps([{"custom_id": cid, "label": gold} for cid, _, gold in batch[:1000]])
            status, data, took = long_request(
                f"{server.base_url}/batches/{batch_id}/labels", labels, headers()
            )
            assert status == 200, data[:300]
            print(f"1,000 labels through the API (labels use case + refit): {took:.1f} s")
            cookie = sign_in(origin)
            base = f"{origin}/console/batches/{batch_id}/review"
            first = timed(base, cookie, f"1 of {args.lines}".encode())
            print(f"first view (builds the index): {first * 1000:.0f} ms")
            views = {
                "line 1": (f"{base}?i=1", f"1 of {args.lines}"),
                "middle line": (f"{base}?i={args.lines // 2}", f"{args.lines // 2} of {args.lines}"),
                "last line": (f"{base}?i={args.lines}", f"{args.lines} of {args.lines}"),
                "swap-inconsistent filter": (f"{base}?inconsistent=1&i=7", f"7 of {hard}"),
                "disagrees-with-a-label filter": (f"{base}?disagrees=1", "of "),
            }
            print(f"{'later views':32} median      max   (of {args.repeat})")
            for name, (url, expect) in views.items():
                times = [timed(url, cookie, expect.encode()) for _ in range(args.repeat)]
                print(f"{name:32} {statistics.median(times) * 1000:6.1f} ms {max(times) * 1000:6.1f} ms")
            page = raw.request("GET", base, headers={"Cookie": cookie}).body.decode()
            csrf = re.search(r'name="csrf-token" content="([^"]+)"', page)
            assert csrf, "no CSRF token on the page"
            agreement = timed(f"{base}/agreement", cookie, b"pairwise")
            print(f"agreement figures (labels service, whole output): {agreement:.1f} s")
            posted: list[float] = []
            worker = threading.Thread(
                target=lambda: posted.append(post_label(base, cookie, csrf.group(1), 0))
            )
            worker.start()
            time.sleep(2)  # the label's use case is reading the output file now
            during = [timed(f"{base}?i=9", cookie, b"9 of") for _ in range(5)]
            worker.join()
            print(f"a label from the page (labels use case + refit, whole output): {posted[0]:.1f} s")
            print(
                f"review pages meanwhile: median {statistics.median(during) * 1000:.0f} ms, max {max(during) * 1000:.0f} ms"
            )


def run_long(server: Server, batch: list[tuple[str, str, str]]) -> str:
    """``tests.support.trust.run`` with room for a large batch (an hour, not 30 s)."""
    file_id = upload_raw(server, "\n".join(line for _, line, _ in batch) + "\n")
    batch_id = create_batch_raw(server, file_id)
    done = wait_for_raw(server, batch_id, {"completed"}, timeout=3600)
    assert done.request_counts is not None and done.request_counts.completed == len(batch)
    return batch_id


if __name__ == "__main__":
    main()
