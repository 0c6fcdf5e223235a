"""PostgreSQL ``LISTEN/NOTIFY`` between nodes: the store methods that create work announce it in the
transaction that makes it (``pg_notify`` fires on commit, never for a rolled-back change), and each
worker keeps one dedicated connection listening, so separate ``jurist worker`` processes learn of a new
or cancelled batch, of queued lines and of a finished last line at once, not at their next poll.

Polling stays: on SQLite, with ``notify`` off, and while the listener is down (it reconnects, and wakes
everything once on each connect, since what was announced meanwhile is lost), workers poll as before.

Two kinds of message on the one channel (JSON payloads):
    {"kind": "tasks"}                     a batch needs batch-level work (created, cancelled, finalizing)
    {"kind": "lines", "models": [...]}    lines were queued for these models
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Callable, Collection, Iterable

from jurist.store.database import Database, PostgresDatabase, Tx

CHANNEL = "jurist_batches"
BATCH_TASKS = "tasks"
LINES_QUEUED = "lines"
_RETRY_SECONDS = (0.1, 0.5, 1.0, 2.0, 5.0)

log = logging.getLogger("jurist.notify")


def notifies(db: Database, enabled: bool = True) -> bool:
    """Whether stores over ``db`` announce their changes (PostgreSQL, unless switched off)."""
    return enabled and db.dialect == "postgresql"


async def announce(tx: Tx, kind: str, models: Iterable[str] = ()) -> None:
    """Send a message on commit of ``tx`` (PostgreSQL only: callers check ``notifies``)."""
    payload: dict[str, object] = {"kind": kind}
    if kind == LINES_QUEUED:
        payload["models"] = sorted(set(models))
    await tx.execute("SELECT pg_notify(:c, :p)", {"c": CHANNEL, "p": json.dumps(payload)})


def models_of(joined: str | None) -> list[str]:
    """A batch's ``model`` column (the models its lines use, comma-joined) as a list."""
    return [m for m in (joined or "").split(",") if m]


class NotifyListener:
    """One dedicated autocommit connection that ``LISTEN``s and calls ``on_tasks()`` or
    ``on_lines(models)`` per message; reconnects when the connection is lost."""

    def __init__(
        self,
        url: str,
        on_tasks: Callable[[], None],
        on_lines: Callable[[Collection[str]], None],
    ) -> None:
        self.url = url
        self.on_tasks = on_tasks
        self.on_lines = on_lines
        self.listening = asyncio.Event()  # set while LISTEN is in force (tests wait for it)
        self.connects = 0

    def handle(self, payload: str) -> None:
        try:
            message = json.loads(payload)
            kind = message["kind"]
        except (ValueError, KeyError, TypeError):
            log.warning("ignoring a malformed notification %r", payload[:200])
            return
        if kind == BATCH_TASKS:
            self.on_tasks()
        elif kind == LINES_QUEUED:
            self.on_lines([str(m) for m in message.get("models") or ()])

    def _wake_all(self) -> None:
        self.on_tasks()
        self.on_lines(())

    async def run(self, stop: asyncio.Event) -> None:
        failures = 0
        while not stop.is_set():
            try:
                await self._listen(stop)
                failures = 0
            except Exception as exc:  # lost or refused: poll meanwhile, and connect again
                self.listening.clear()
                delay = _RETRY_SECONDS[min(failures, len(_RETRY_SECONDS) - 1)]
                failures += 1
                log.warning("notification listener lost (%s); polling, reconnecting in %.1fs", exc, delay)
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), delay)
        self.listening.clear()

    async def _listen(self, stop: asyncio.Event) -> None:
        import psycopg

        conn = await psycopg.AsyncConnection.connect(self.url, autocommit=True)
        try:
            await conn.execute(f"LISTEN {CHANNEL}")
            self.connects += 1
            self.listening.set()
            self._wake_all()  # whatever was announced while nobody listened
            while not stop.is_set():
                async with contextlib.aclosing(conn.notifies(timeout=0.5)) as notes:
                    async for note in notes:
                        self.handle(note.payload)
                        if stop.is_set():
                            break
        finally:
            self.listening.clear()
            with contextlib.suppress(Exception):
                await conn.close()


def listener_for(
    db: Database, enabled: bool, on_tasks: Callable[[], None], on_lines: Callable[[Collection[str]], None]
) -> NotifyListener | None:
    """The listener for a worker over ``db``, or None where workers only poll."""
    if not enabled or not isinstance(db, PostgresDatabase):
        return None
    return NotifyListener(db.url, on_tasks, on_lines)
