"""What the runner reports to and asks of the services: its events (metrics implement them), where
batch lines' usage goes (the usage recorder), and whether a model's upstream takes calls (the upstream
gates). The services implement these structurally, without importing the runner; the null objects
stand in when nothing listens."""

from __future__ import annotations

from typing import Protocol

from jurist.errors import JuristError
from jurist.protocol.json_types import JSONObject
from jurist.store.usage import UsageCounts


class RunnerEvents(Protocol):
    """What the runner reports (metrics implement it)."""

    def line_finished(self, model: str, succeeded: bool, n: int = 1) -> None: ...

    def line_retried(self, model: str, error: JuristError) -> None: ...

    def leases_reclaimed(self, count: int) -> None: ...


class NoEvents:
    """Reports nowhere."""

    def line_finished(self, model: str, succeeded: bool, n: int = 1) -> None:
        return None

    def line_retried(self, model: str, error: JuristError) -> None:
        return None

    def leases_reclaimed(self, count: int) -> None:
        return None


class UsageSink(Protocol):
    """Where the usage of batch lines goes, by the batch's owner (``service.usage`` implements it)."""

    def record(self, tenant: str, model: str, counts: UsageCounts) -> None: ...


class NoUsage:
    def record(self, tenant: str, model: str, counts: UsageCounts) -> None:
        return None


class ModelGate(Protocol):
    """Whether a model's upstream takes calls (paused or circuit open on every node: not yet)."""

    async def ready_in(self, model: str) -> float:
        """Seconds until lines of ``model`` may be claimed (0: now)."""
        ...


class EvalLines(Protocol):
    """The lines of eval runs' batches: each grades one row (``service.evals.lines`` implements it)."""

    def handles(self, body: object) -> bool:
        """Whether a line's parsed body is an eval run's row."""
        ...

    async def grade_line(self, tenant: str, batch_id: str, body: object) -> tuple[JSONObject, UsageCounts]:
        """Grade the row and store its output item; the line's output body and what it used (a model
        that is down or limited raises a retryable error)."""
        ...
