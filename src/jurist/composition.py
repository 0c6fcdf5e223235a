"""The one composition root: from ``Settings`` to the services and the runner the API and CLI use.

It sits above ``service/`` and ``runner/`` (it wires both); only ``api/`` and ``cli/`` import it."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from jurist.backends.base import Backend
from jurist.backends.llama_cpp import BUNDLED_MODEL_NOTICE
from jurist.backends.registry import BACKENDS, Registry, build_backends, configured_models
from jurist.errors import ConfigError
from jurist.ids import Clock, SystemClock
from jurist.runner.sweep import SweepConfig, Sweeper
from jurist.runner.worker import RunnerConfig, Worker
from jurist.service.evals.criteria import GraderRules
from jurist.service.evals.experiments import ExperimentService
from jurist.service.evals.grading import Sandbox
from jurist.service.evals.lines import EvalLines
from jurist.service.evals.sandbox import SandboxedPython, check_python_source
from jurist.service.evals.service import EvalService
from jurist.service.jobs.batches import BatchService
from jurist.service.jobs.files import FileLimits, FileService
from jurist.service.judging.cache import config_digest
from jurist.service.judging.models import JudgeModel
from jurist.service.judging.pipeline import ChatService
from jurist.service.judging.upstream import UpstreamGates, UpstreamPolicy, guard
from jurist.service.operations.metrics import Metrics
from jurist.service.operations.offload import ProcessOffload
from jurist.service.tenancy.auth import Authenticator, default_policy
from jurist.service.tenancy.console_sessions import ConsoleSessions
from jurist.service.tenancy.key_admin import KeyAdmin
from jurist.service.tenancy.limits import BatchLimits, StoredPolicies, TenantLimiter
from jurist.service.tenancy.usage import Prices, UsageRecorder
from jurist.service.trust.batch_compare import BatchCompareService
from jurist.service.trust.calibrations import CalibrationService
from jurist.service.trust.labels import LabelService
from jurist.service.trust.line_facts import LineFactsIndex
from jurist.service.trust.reports import ReportService
from jurist.service.trust.trust import TrustService
from jurist.settings import CascadeModelConfig, LlamaCppModelConfig, Settings
from jurist.store.batch_tasks import BatchTasks, SqlBatchTasks
from jurist.store.batches import BatchStore, SqlBatchStore
from jurist.store.blobs import BlobStore, DatabaseBlobs, DiskBlobs
from jurist.store.cache import CacheStore, SqlCacheStore
from jurist.store.calibrations import CalibrationStore, SqlCalibrationStore
from jurist.store.chunks import ChunkStore, SqlChunkStore
from jurist.store.console_sessions import SessionStore, SqlSessionStore
from jurist.store.database import Database, open_database
from jurist.store.eval_records import EvalStore
from jurist.store.evals import SqlEvalStore
from jurist.store.fair import FairShare
from jurist.store.files import FileStore, SqlFileStore
from jurist.store.housekeeping import SqlHousekeeping
from jurist.store.keys import KeyFile, KeyStore, SqlKeyStore, digest
from jurist.store.labels import LabelStore, SqlLabelStore
from jurist.store.migrations import upgrade
from jurist.store.node_leases import SqlNodeLeases
from jurist.store.notify import listener_for
from jurist.store.queue import LineQueue, SqlLineQueue
from jurist.store.rate_limits import SqlRateBuckets
from jurist.store.records import FileStorage
from jurist.store.tenant_load import SqlTenantLoad
from jurist.store.tenants import SqlTenantStore, TenantStore
from jurist.store.upstream import SqlUpstreamState
from jurist.store.usage import SqlUsageStore, UsageStore

if TYPE_CHECKING:
    from collections.abc import Mapping

log = logging.getLogger("jurist")


@dataclass(frozen=True)
class Stores:
    """The store by concern, all over the one database."""

    files: FileStore
    chunks: ChunkStore
    batches: BatchStore
    tasks: BatchTasks
    queue: LineQueue
    cache: CacheStore
    usage: UsageStore
    keys: KeyStore
    tenants: TenantStore
    fair: FairShare  # the fair claims' tags; ``rebalance(account)`` after a weight change
    labels: LabelStore
    calibrations: CalibrationStore
    sessions: SessionStore
    evals: EvalStore

    @classmethod
    def over(cls, db: Database, default_weight: float = 1.0, notify: bool = True) -> Stores:
        """``notify``: on PostgreSQL, changes that make work for other nodes are announced (store.notify)."""
        fair = FairShare(db, default_weight)
        return cls(
            SqlFileStore(db), SqlChunkStore(db), SqlBatchStore(db, notify), SqlBatchTasks(db, fair, notify),
            SqlLineQueue(db, fair, notify), SqlCacheStore(db), SqlUsageStore(db), SqlKeyStore(db),
            SqlTenantStore(db), fair, SqlLabelStore(db), SqlCalibrationStore(db), SqlSessionStore(db),
            SqlEvalStore(db),
        )  # fmt: skip


@dataclass
class Services:
    settings: Settings
    auth: Authenticator
    chat: ChatService
    backends: list[Backend]
    db: Database
    stores: Stores
    blobs: BlobStore
    files: FileService
    batches: BatchService
    clock: Clock
    new_key: str | None = None
    notices: list[str] = field(default_factory=list)
    metrics: Metrics = field(default_factory=Metrics)
    usage: UsageRecorder = field(kw_only=True)
    limiter: TenantLimiter | None = None  # per-tenant rpm/tpm on chat completions
    upstream: UpstreamGates | None = None  # the models' shared pauses and circuit breakers
    offload: ProcessOffload = field(default_factory=ProcessOffload)  # CPU-bound work, off the GIL
    line_facts: LineFactsIndex = field(init=False)  # batch outputs' lines, parsed once (labels, refits)
    _stop: asyncio.Event = field(default_factory=asyncio.Event)
    _worker_task: asyncio.Task[None] | None = None
    _usage_stop: asyncio.Event = field(default_factory=asyncio.Event)
    _usage_task: asyncio.Task[None] | None = None

    def __post_init__(self) -> None:
        self.line_facts = LineFactsIndex(self.offload)

    @property
    def reports(self) -> ReportService:
        return ReportService(self.stores.files, self.blobs, self.batches, self.labels)

    @property
    def batch_compare(self) -> BatchCompareService:
        return BatchCompareService(self.stores.files, self.blobs, self.batches, self.offload)

    @property
    def labels(self) -> LabelService:
        stores = self.stores
        return LabelService(
            stores.labels, stores.files, self.blobs, self.batches, self.clock, self.line_facts
        )

    @property
    def calibrations(self) -> CalibrationService:
        models = {name: model.config for name, model in self.chat.models.items()}
        stores, trust = self.stores, self.chat.trust
        return CalibrationService(stores.calibrations, self.labels, trust, models, self.clock, self.offload)

    @property
    def evals(self) -> EvalService:
        s = self.settings
        rules = GraderRules(
            models=frozenset(self.chat.models), python=s.python_grader, embeddings=False,
            check_python=check_python_source if s.python_grader else None,
        )  # fmt: skip
        digests = {name: config_digest(model.config) for name, model in self.chat.models.items()}
        names = frozenset(self.chat.models)
        return EvalService(
            self.stores.evals, self.files, self.blobs, self.batches, names, rules, self.clock, digests,
            self.stores.labels,
        )  # fmt: skip

    @property
    def experiments(self) -> ExperimentService:
        return ExperimentService(self.evals, self.stores.labels)

    def python_sandbox(self) -> Sandbox | None:
        """The sandbox python graders run in (None: they are off)."""
        s = self.settings
        if not s.python_grader:
            return None
        return SandboxedPython(s.python_grader_timeout_seconds, s.python_grader_memory_mb)

    @property
    def console_sessions(self) -> ConsoleSessions:
        hours = self.settings.console_session_hours
        return ConsoleSessions(self.stores.sessions, self.auth, self.clock, hours)

    @property
    def key_admin(self) -> KeyAdmin:
        """Keys and tenants, as the admin manages them; a change reaches this node's key cache at once."""
        stores, weight = self.stores, self.settings.default_weight
        return KeyAdmin(
            stores.keys, stores.tenants, self.clock, weight, self.auth.forget, stores.fair.rebalance
        )

    def make_worker(self) -> Worker:
        s = self.settings
        config = RunnerConfig(
            lease_seconds=s.worker_lease_seconds,
            poll_seconds=s.worker_poll_seconds,
            max_attempts=s.max_attempts,
            retry_base_seconds=s.retry_base_seconds,
            max_batch_lines=s.max_batch_lines,
            drain_seconds=s.drain_seconds,
        )
        models = {name: m.config for name, m in self.chat.models.items()}
        stores = self.stores
        worker = Worker(
            stores.files, stores.tasks, stores.queue, self.blobs, self.chat, models, config, self.clock,
            self.metrics, self.usage, queue_limits=self.batches.limits, gate=self.upstream,
            evals=EvalLines(self.stores.evals, self.chat, self.clock, self.python_sandbox, self.usage),
        )  # fmt: skip
        worker.listener = listener_for(self.db, s.notify, worker.nudge, worker.nudge_lines)
        sweep = SweepConfig(s.sweep_seconds, s.batch_rows_retention_days * 86400)
        worker.sweeper = Sweeper(
            SqlHousekeeping(self.db), SqlNodeLeases(self.db), self.blobs, DiskBlobs(s.data_dir / "files"),
            self.clock, worker.owner, sweep, self.metrics,
        )  # fmt: skip
        return worker

    async def start(self, run_worker: bool | None = None) -> None:
        """Open the database (migrating it), start the backends and, by default, a worker."""
        await self.db.open()
        await upgrade(self.db)
        for backend in self.backends:
            await backend.start()
        self._usage_stop.clear()
        self._usage_task = asyncio.create_task(self.usage.run(self._usage_stop))
        if self.settings.run_worker if run_worker is None else run_worker:
            self._stop.clear()
            worker = self.make_worker()
            self.batches.on_change = worker.nudge
            self._worker_task = asyncio.create_task(worker.run(self._stop))

    async def aclose(self) -> None:
        self._stop.set()
        if self._worker_task is not None:
            try:
                await self._worker_task
            except Exception:  # the worker crashed: say so, and still close everything below
                log.exception("the batch worker crashed; shutting down anyway")
            self._worker_task = None
        self._usage_stop.set()  # after the worker: it records usage as its last lines finish
        if self._usage_task is not None:
            await self._usage_task  # the last flush
            self._usage_task = None
        for backend in self.backends:
            await backend.aclose()
        await asyncio.to_thread(self.offload.close)
        await self.db.close()


def build_authenticator(
    settings: Settings, stores: Stores | None = None, clock: Clock | None = None
) -> tuple[Authenticator, str | None]:
    """Static keys from ``JURIST_API_KEYS``; without them, the key file in the data dir, created (with
    one random key, returned so it can be printed once) on first start. Then the database's keys
    (``stores``), cached for ``key_cache_seconds``."""
    new_key = None
    if settings.api_keys:
        digests = [digest(k) for k in settings.api_keys]
    else:
        keys = KeyFile(settings.data_dir)
        records = keys.load()
        if not records:
            new_key = keys.create(label="created on first start")
            records = keys.load()
        digests = [r.digest for r in records]
    admin = settings.admin_key.get_secret_value() if settings.admin_key else None
    auth = Authenticator(
        digests, stores.keys if stores else None, stores.tenants if stores else None,
        defaults=default_policy(settings), admin_key=admin, cache_seconds=settings.key_cache_seconds,
        clock=clock,
    )  # fmt: skip
    return auth, new_key


def build_services(
    settings: Settings,
    backends: Mapping[str, Backend] | None = None,
    clock: Clock | None = None,
    registry: Registry = BACKENDS,
) -> Services:
    """Wire everything. ``backends`` overrides the configured ones per model name (tests, demos);
    ``registry`` is the set of backends the configuration may name."""
    configured = configured_models(settings, registry)  # a bad model option stops here, before any I/O
    configs = configured.models
    overrides = dict(backends or {})
    unknown = set(overrides) - set(configs)
    if unknown:
        raise ConfigError(f"backend overrides for unconfigured models: {sorted(unknown)}")
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    to_build = {
        name: cfg
        for name, cfg in configs.items()
        if name not in overrides and not isinstance(cfg, CascadeModelConfig)
    }
    built = {**build_backends(to_build, settings.data_dir, registry), **overrides}
    notices = list(configured.notices)
    if any(isinstance(cfg, LlamaCppModelConfig) and cfg.is_bundled_model for cfg in to_build.values()):
        notices.append(BUNDLED_MODEL_NOTICE)
    unique: list[Backend] = []
    for backend in built.values():
        if all(backend is not b for b in unique):
            unique.append(backend)
    the_clock: Clock = clock or SystemClock()
    db = open_database(settings.resolved_database_url)
    stores = Stores.over(db, settings.default_weight, settings.notify)
    auth, new_key = build_authenticator(settings, stores, the_clock)
    # The provider's limits and circuit breaker, shared through the database. A backend passed in
    # (scripted, in tests and demos) gets the model's rpm/tpm but no circuit breaker.
    upstream = UpstreamGates(SqlUpstreamState(db), the_clock)
    buckets = SqlRateBuckets(db)
    models: dict[str, JudgeModel] = {}
    for name, cfg in configs.items():
        if not isinstance(cfg, CascadeModelConfig):
            policy = UpstreamPolicy.of(cfg, circuit=cfg.remote and name not in overrides)
            models[name] = JudgeModel(name, cfg, guard(name, built[name], policy, upstream, buckets))
    for name, cfg in configs.items():
        if isinstance(cfg, CascadeModelConfig):
            stages = tuple(models[stage] for stage in cfg.cascade)
            if cfg.max_concurrency is None:  # batch lines at once: as many as its first stage runs
                cfg = cfg.model_copy(update={"max_concurrency": stages[0].config.concurrency})
            models[name] = JudgeModel(name, cfg, stages[0].backend, stages)
    blobs: BlobStore = (
        DatabaseBlobs(stores.chunks)
        if FileStorage(settings.resolved_file_storage) is FileStorage.DATABASE
        else DiskBlobs(settings.data_dir / "files")
    )
    load = SqlTenantLoad(db)
    limits = FileLimits(settings.max_file_bytes, settings.tenant_quota_bytes)
    files = FileService(stores.files, blobs, limits, the_clock, load)
    batch_limits = BatchLimits(load, StoredPolicies(stores.tenants, default_policy(settings)))
    batches = BatchService(stores.batches, stores.files, the_clock, settings.batch_status_style, batch_limits)
    metrics = Metrics(settings.metrics_tenant_labels)
    trust = TrustService(stores.calibrations, settings.key_cache_seconds)
    cache = stores.cache if settings.cache else None
    chat = ChatService(models, cache, metrics, trust, cache_scope=settings.cache_scope)
    prices = {
        name: Prices(cfg.input_price_per_million, cfg.output_price_per_million)
        for name, cfg in configs.items()
    }
    usage = UsageRecorder(stores.usage, prices, the_clock, settings.usage_flush_seconds, metrics)
    return Services(
        settings,
        auth,
        chat,
        unique,
        db,
        stores,
        blobs,
        files,
        batches,
        the_clock,
        new_key,
        notices,
        metrics=metrics,
        usage=usage,
        limiter=TenantLimiter(buckets, the_clock),
        upstream=upstream,
    )


def build_label_service(
    settings: Settings, db: Database, registry: Registry = BACKENDS
) -> tuple[LabelService, CalibrationService, Authenticator]:
    """The labels use case over an open database, the calibrations it refits, and the authenticator
    that names a key's tenant (``jurist labels import``: no backends, no worker)."""
    clock = SystemClock()
    stores = Stores.over(db, settings.default_weight, notify=False)
    auth, _ = build_authenticator(settings, stores, clock)
    blobs: BlobStore = (
        DatabaseBlobs(stores.chunks)
        if FileStorage(settings.resolved_file_storage) is FileStorage.DATABASE
        else DiskBlobs(settings.data_dir / "files")
    )
    limits = BatchLimits(SqlTenantLoad(db), StoredPolicies(stores.tenants, default_policy(settings)))
    batches = BatchService(stores.batches, stores.files, clock, settings.batch_status_style, limits)
    labels = LabelService(stores.labels, stores.files, blobs, batches, clock)
    trust = TrustService(stores.calibrations, settings.key_cache_seconds)
    models = configured_models(settings, registry).models
    return labels, CalibrationService(stores.calibrations, labels, trust, models, clock), auth
