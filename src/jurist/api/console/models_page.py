"""``/console/models``: the configured judges as the signed-in tenant sees them (the figures of
``GET /v1/models``): backend, judging policy, calls per item (a cascade's stages and the calls it is
expected to make, from this tenant's calibrations), prices, and health: the backend's ``ready()``; for an
embedded model its process's state (restarting after a crash, or failed) and restarts by cause; for a
remote model, its shared upstream gate (paused after a 429, or circuit open)."""

from __future__ import annotations

from dataclasses import dataclass

from starlette.requests import Request
from starlette.responses import Response

from jurist.api.console.session import page, tenant_of_page
from jurist.api.console.templating import pages_of
from jurist.api.deps import services_of
from jurist.backends.base import EngineHealth, SupervisedBackend
from jurist.composition import Services
from jurist.protocol.chat import ModelCascade
from jurist.service.judging.cascade import cascade_card
from jurist.service.judging.models import JudgeModel

MODES = ("single", "pairwise")


@dataclass(frozen=True)
class Health:
    ready: bool
    upstream: str  # "" (not guarded), "closed", "paused", "open", "half_open"
    detail: str = ""
    engines: tuple[EngineHealth, ...] = ()  # the embedded model processes behind it

    @property
    def ok(self) -> bool:
        return self.ready and self.upstream in ("", "closed")


@dataclass(frozen=True)
class ModelView:
    model: JudgeModel
    calls: dict[str, int]  # a plain model's calls per item, by mode
    cascade: ModelCascade | None
    health: Health


async def upstream_health(services: Services, name: str) -> tuple[str, str]:
    """The model's shared gate as every node sees it (one cached read), or nothing when unguarded."""
    gates = services.upstream
    if gates is None or name not in gates.guarded:
        return "", ""
    gate = await gates.gate(name)
    now = services.clock.now()
    if gate.state == "open":
        failures = f"{gate.failures} failure{'s' if gate.failures != 1 else ''} in a row"
        return "open", f"circuit open after {failures}; the next call probes in {gate.closed_in(now):.0f} s"
    if gate.state == "half_open":
        return "half_open", "circuit half-open: a probe call is in flight"
    if gate.paused_until > now:
        return "paused", f"paused by the upstream's 429 for {gate.paused_until - now:.0f} s more"
    detail = f"{gate.failures} failure(s) in a row" if gate.failures else ""
    return "closed", detail


async def health_of(services: Services, model: JudgeModel) -> Health:
    """A cascade is as healthy as its stages: every backend ready, no stage's upstream refusing calls."""
    parts = model.stages or (model,)
    ready = all([await part.backend.ready() for part in parts])
    engines = tuple(p.backend.health() for p in parts if isinstance(p.backend, SupervisedBackend))
    states = [(part.name, *await upstream_health(services, part.name)) for part in parts]

    def prefix(name: str) -> str:  # a cascade's health names the stage
        return f"{name}: " if model.stages else ""

    refusing = [(name, state, detail) for name, state, detail in states if state not in ("", "closed")]
    if refusing:
        name, state, detail = refusing[0]
        return Health(ready, state, prefix(name) + detail, engines)
    notes = "; ".join(prefix(name) + detail for name, _, detail in states if detail)
    return Health(ready, "closed" if any(state for _, state, _ in states) else "", notes, engines)


@page
async def models(request: Request) -> Response:
    tenant = tenant_of_page(request).id
    services = services_of(request)
    chat = services.chat
    views = []
    for name in sorted(chat.models):
        model = chat.models[name]
        cascade = await cascade_card(chat.trust, model, tenant) if model.stages else None
        calls = {} if model.stages else model.config.judging.calls_per_item
        views.append(ModelView(model, calls, cascade, await health_of(services, model)))
    return pages_of(request).render(request, "models.html", section="models", models=views, modes=MODES)
