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
from jurist.service.auth import Authenticator
from jurist.service.batches import BatchService
from jurist.service.chat import ChatService, JudgeModel
from jurist.service.files import FileLimits, FileService
from jurist.service.metrics import Metrics
from jurist.service.reports import ReportService
from jurist.settings import LlamaCppModelConfig, Settings
from jurist.store.batch_tasks import BatchTasks, SqlBatchTasks
from jurist.store.batches import BatchStore, SqlBatchStore
from jurist.store.blobs import BlobStore, DatabaseBlobs, DiskBlobs
from jurist.store.cache import CacheStore, SqlCacheStore
from jurist.store.chunks import ChunkStore, SqlChunkStore
from jurist.store.database import Database, open_database
from jurist.store.files import FileStore, SqlFileStore
from jurist.store.housekeeping import SqlHousekeeping
from jurist.store.keys import KeyFile, digest
from jurist.store.migrations import upgrade
from jurist.store.node_leases import SqlNodeLeases
from jurist.store.notify import listener_for
from jurist.store.queue import LineQueue, SqlLineQueue
from jurist.store.records import FileStorage

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

    @classmethod
    def over(cls, db: Database, notify: bool = True) -> Stores:
        """``notify``: on PostgreSQL, changes that make work for other nodes are announced (store.notify)."""
        return cls(
            SqlFileStore(db), SqlChunkStore(db), SqlBatchStore(db, notify), SqlBatchTasks(db, notify),
            SqlLineQueue(db, notify), SqlCacheStore(db),
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
    _stop: asyncio.Event = field(default_factory=asyncio.Event)
    _worker_task: asyncio.Task[None] | None = None

    @property
    def reports(self) -> ReportService:
        return ReportService(self.stores.files, self.blobs, self.batches)

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
            self.metrics,
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
        for backend in self.backends:
            await backend.aclose()
        await self.db.close()


def build_authenticator(settings: Settings) -> tuple[Authenticator, str | None]:
    """Keys from ``JURIST_API_KEYS``; without them, the key file in the data dir, created (with one
    random key, returned so it can be printed once) on first start."""
    if settings.api_keys:
        return Authenticator([digest(k) for k in settings.api_keys]), None
    keys = KeyFile(settings.data_dir)
    new_key = None
    records = keys.load()
    if not records:
        new_key = keys.create(label="created on first start")
        records = keys.load()
    return Authenticator([r.digest for r in records]), new_key


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
    auth, new_key = build_authenticator(settings)
    to_build = {name: cfg for name, cfg in configs.items() if name not in overrides}
    built = {**build_backends(to_build, settings.data_dir, registry), **overrides}
    models = {name: JudgeModel(name, configs[name], built[name]) for name in configs}
    notices = list(configured.notices)
    if any(isinstance(cfg, LlamaCppModelConfig) and cfg.is_bundled_model for cfg in to_build.values()):
        notices.append(BUNDLED_MODEL_NOTICE)
    unique: list[Backend] = []
    for backend in built.values():
        if all(backend is not b for b in unique):
            unique.append(backend)
    the_clock: Clock = clock or SystemClock()
    db = open_database(settings.resolved_database_url)
    stores = Stores.over(db, settings.notify)
    blobs: BlobStore = (
        DatabaseBlobs(stores.chunks)
        if FileStorage(settings.resolved_file_storage) is FileStorage.DATABASE
        else DiskBlobs(settings.data_dir / "files")
    )
    files = FileService(
        stores.files, blobs, FileLimits(settings.max_file_bytes, settings.tenant_quota_bytes), the_clock
    )
    batches = BatchService(stores.batches, stores.files, the_clock, settings.batch_status_style)
    metrics = Metrics()
    chat = ChatService(models, cache=stores.cache if settings.cache else None, counter=metrics)
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
    )
