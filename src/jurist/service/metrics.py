"""Prometheus metrics, one registry per service instance (no globals)."""

from __future__ import annotations

from collections.abc import Mapping

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

from jurist.errors import JuristError
from jurist.store.queue import QueueDepth


class Metrics:
    """Implements ``runner.worker.RunnerEvents`` and the chat service's ``CacheCounter``."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.requests = Counter(
            "jurist_http_requests", "HTTP requests", ["route", "method", "status"], registry=r
        )
        self.latency = Histogram(
            "jurist_http_request_seconds",
            "HTTP request latency",
            ["route"],
            buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120),
            registry=r,
        )
        self.chat = Counter(
            "jurist_chat_requests", "Chat completions by model and kind", ["model", "kind"], registry=r
        )
        self.upstream_errors = Counter(
            "jurist_upstream_errors", "Backend errors by code", ["code"], registry=r
        )
        self.lines = Counter("jurist_batch_lines", "Finished batch lines", ["model", "status"], registry=r)
        self.retries = Counter(
            "jurist_batch_line_retries", "Retried batch lines", ["model", "code"], registry=r
        )
        self.reclaims = Counter("jurist_lease_reclaims", "Lines reclaimed from dead workers", registry=r)
        self.queue = Gauge("jurist_queue_depth", "Queued batch lines by model", ["model"], registry=r)
        self.cache = Counter("jurist_judge_cache", "Judge cache lookups", ["result"], registry=r)
        self.sweep_runs = Counter("jurist_sweep_runs", "Sweep rounds this node ran", registry=r)
        self.sweep_removed = Counter("jurist_swept", "What the sweep removed, by kind", ["kind"], registry=r)

    def cache_result(self, result: str, n: int = 1) -> None:
        self.cache.labels(result).inc(n)

    # runner.worker.RunnerEvents
    def line_finished(self, model: str, succeeded: bool, n: int = 1) -> None:
        self.lines.labels(model, "completed" if succeeded else "failed").inc(n)

    def line_retried(self, model: str, error: JuristError) -> None:
        self.retries.labels(model, error.code or error.type).inc()

    def leases_reclaimed(self, count: int) -> None:
        self.reclaims.inc(count)

    # runner.sweep.SweepEvents
    def swept(self, counts: Mapping[str, int]) -> None:
        self.sweep_runs.inc()
        for kind, n in counts.items():
            self.sweep_removed.labels(kind).inc(n)

    async def render(self, queue: QueueDepth) -> bytes:
        depth = await queue.depth()
        self.queue.clear()
        for model, count in depth.items():
            self.queue.labels(model).set(count)
        return bytes(generate_latest(self.registry))
