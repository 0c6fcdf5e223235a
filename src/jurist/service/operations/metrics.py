"""Prometheus metrics, one registry per service instance (no globals)."""

from __future__ import annotations

from collections.abc import Iterator, Mapping

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from jurist.backends.base import EngineHealth
from jurist.errors import JuristError
from jurist.store.queue import QueueDepth
from jurist.store.usage import UsageCounts

OTHER_TENANTS = "other"


class _PromptTokens(Collector):
    """The embedded engines' prompt tokens, evaluated vs reused from a cached prefix: running totals
    kept by each engine, read at every scrape."""

    def __init__(self) -> None:
        self.totals: dict[tuple[str, str], int] = {}

    def collect(self) -> Iterator[Metric]:
        family = CounterMetricFamily(
            "jurist_engine_prompt_tokens",
            "Prompt tokens of an embedded engine: run through the model (evaluated) or copied from a "
            "cached prompt prefix (reused)",
            labels=["backend", "kind"],
        )
        for (backend, kind), value in sorted(self.totals.items()):
            family.add_metric([backend, kind], value)
        yield family


ENGINE_STATES = ("starting", "ready", "restarting", "failed", "stopped")


class _EngineHealth(Collector):
    """The embedded model processes: restarts by cause, state, the last restart's duration; read from
    each supervisor at every scrape."""

    def __init__(self) -> None:
        self.engines: dict[str, EngineHealth] = {}

    def collect(self) -> Iterator[Metric]:
        restarts = CounterMetricFamily(
            "jurist_engine_restarts",
            "Deaths of an embedded model's process, by cause (a signal such as SIGSEGV, or 'exit N')",
            labels=["backend", "cause"],
        )
        state = GaugeMetricFamily(
            "jurist_engine_state", "An embedded model process's state (1 for the current one)",
            labels=["backend", "state"],
        )  # fmt: skip
        restart_seconds = GaugeMetricFamily(
            "jurist_engine_last_restart_seconds",
            "From an embedded model process's death to its successor's passed self-test",
            labels=["backend"],
        )
        for backend, health in sorted(self.engines.items()):
            for cause, count in sorted(health.restarts.items()):
                restarts.add_metric([backend, cause], count)
            for name in ENGINE_STATES:
                state.add_metric([backend, name], 1.0 if health.state == name else 0.0)
            if health.last_restart_seconds is not None:
                restart_seconds.add_metric([backend], health.last_restart_seconds)
        yield restarts
        yield state
        yield restart_seconds


class Metrics:
    """Implements ``runner.ports.RunnerEvents``, the chat service's ``CacheCounter`` and the usage
    recorder's ``UsageCounter``.

    Per-tenant counters keep their label set bounded: the first ``tenant_labels`` tenants seen (since
    the process started) are named, every later one is counted under ``tenant="other"``."""

    def __init__(self, tenant_labels: int = 50) -> None:
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
        self.tenant_requests = Counter(
            "jurist_tenant_requests", "Chat completions by tenant", ["tenant"], registry=r
        )
        self.tenant_tokens = Counter(
            "jurist_tenant_tokens", "Judge-model tokens by tenant", ["tenant", "kind"], registry=r
        )
        self.tenant_batch_lines = Counter(
            "jurist_tenant_batch_lines", "Finished batch lines by tenant", ["tenant"], registry=r
        )
        self.tenant_cost = Counter(
            "jurist_tenant_cost", "Cost by tenant (model prices)", ["tenant"], registry=r
        )
        self._tenant_labels = tenant_labels
        self._named: set[str] = set()
        self._children: dict[str, tuple[Counter, Counter, Counter, Counter, Counter]] = {}
        self.sweep_runs = Counter("jurist_sweep_runs", "Sweep rounds this node ran", registry=r)
        self.sweep_removed = Counter("jurist_swept", "What the sweep removed, by kind", ["kind"], registry=r)
        self._prompt_tokens = _PromptTokens()
        r.register(self._prompt_tokens)
        self._engines = _EngineHealth()
        r.register(self._engines)

    def cache_result(self, result: str, n: int = 1) -> None:
        self.cache.labels(result).inc(n)

    def tenant_label(self, tenant: str) -> str:
        """The tenant's label value: its id while fewer than ``tenant_labels`` are named, else "other"."""
        if tenant in self._named:
            return tenant
        if len(self._named) < self._tenant_labels:
            self._named.add(tenant)
            return tenant
        return OTHER_TENANTS

    # service.usage.UsageCounter
    def tenant_usage(self, tenant: str, counts: UsageCounts) -> None:
        label = self.tenant_label(tenant)
        children = self._children.get(label)
        if children is None:
            children = self._children[label] = (
                self.tenant_requests.labels(label),
                self.tenant_tokens.labels(label, "prompt"),
                self.tenant_tokens.labels(label, "completion"),
                self.tenant_batch_lines.labels(label),
                self.tenant_cost.labels(label),
            )
        requests, prompt, completion, lines, cost = children
        if counts.requests:
            requests.inc(counts.requests)
        if counts.prompt_tokens:
            prompt.inc(counts.prompt_tokens)
        if counts.completion_tokens:
            completion.inc(counts.completion_tokens)
        if counts.batch_lines:
            lines.inc(counts.batch_lines)
        if counts.cost:
            cost.inc(counts.cost)

    # runner.ports.RunnerEvents
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

    async def render(
        self,
        queue: QueueDepth,
        prompt_tokens: Mapping[str, Mapping[str, int]] | None = None,
        engines: Mapping[str, EngineHealth] | None = None,
    ) -> bytes:
        """``prompt_tokens``: per embedded backend, its ``evaluated`` and ``reused`` prompt tokens;
        ``engines``: per supervised backend, its process's health."""
        self._engines.engines = dict(engines or {})
        for backend, stats in (prompt_tokens or {}).items():
            for kind in ("evaluated", "reused"):
                self._prompt_tokens.totals[(backend, kind)] = stats.get(kind, 0)
        depth = await queue.depth()
        self.queue.clear()
        for model, count in depth.items():
            self.queue.labels(model).set(count)
        return bytes(generate_latest(self.registry))
