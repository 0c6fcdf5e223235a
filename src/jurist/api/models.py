"""GET /v1/models and /v1/models/{model}; /healthz."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from jurist.api.deps import require_metrics_reader, services_of, tenant_of
from jurist.backends.base import PromptTokenSource, SupervisedBackend
from jurist.errors import ModelNotFound
from jurist.protocol.chat import ModelCard, ModelJudging, ModelList, ModelStatus
from jurist.service.judging.cascade import cascade_card
from jurist.service.judging.models import JudgeModel
from jurist.store.database import ping


async def _card(request: Request, name: str, tenant: str) -> ModelCard:
    chat = services_of(request).chat
    model = chat.models[name]
    config = model.config
    if model.stages:  # a cascade: its first stage's judging, and the cascade's costs
        config = model.stages[0].config
    judging = ModelJudging(
        swap=config.judging.swap,
        samples=config.judging.samples,
        expected_score=config.wants_logprobs,
        calls_per_item=config.judging.calls_per_item,
        reasons=config.judging.reasons,
    )
    return ModelCard(
        id=name,
        created=request.app.state.started_at,
        description=model.config.description or None,
        judging=judging,
        cascade=await cascade_card(chat.trust, model, tenant) if model.stages else None,
        status=await _status(model.stages or (model,)),
    )


async def _status(parts: tuple[JudgeModel, ...]) -> ModelStatus:
    """The model's health: ready or not, and for an embedded model its process's state and restarts
    (a cascade: the first stage that is not ready, else the first)."""
    statuses = [await _part_status(part) for part in parts]
    return next((s for s in statuses if s.state != "ready"), statuses[0])


async def _part_status(model: JudgeModel) -> ModelStatus:
    backend = model.backend
    if isinstance(backend, SupervisedBackend):
        health = backend.health()
        return ModelStatus(
            state=health.state,
            detail=health.detail or None,
            restarts=health.restarts,
            extra_buffer_types=health.extra_buffers,
        )
    return ModelStatus(state="ready" if await backend.ready() else "not_ready")


async def list_models(request: Request) -> Response:
    tenant = (await tenant_of(request)).id
    names = sorted(services_of(request).chat.models)
    body = ModelList(data=[await _card(request, n, tenant) for n in names])
    return Response(body.model_dump_json(), media_type="application/json")


async def retrieve_model(request: Request) -> Response:
    tenant = (await tenant_of(request)).id
    name = request.path_params["model"]
    if name not in services_of(request).chat.models:
        raise ModelNotFound(f"The model '{name}' does not exist.", param="model")
    card = await _card(request, name, tenant)
    return Response(card.model_dump_json(exclude_none=False), media_type="application/json")


async def healthz(request: Request) -> Response:
    """The process is up."""
    return JSONResponse({"status": "ok"})


async def readyz(request: Request) -> Response:
    """The database answers and the backends are started."""
    services = services_of(request)
    checks: dict[str, str] = {}
    try:
        await ping(services.db)
        checks["database"] = "ok"
    except Exception as exc:
        checks["database"] = f"error: {type(exc).__name__}"
    for name, model in services.chat.models.items():
        checks[f"model:{name}"] = "ok" if await model.backend.ready() else "not ready"
    ok = all(v == "ok" for v in checks.values())
    return JSONResponse(
        {"status": "ok" if ok else "unavailable", "checks": checks}, status_code=200 if ok else 503
    )


async def metrics(request: Request) -> Response:
    """Prometheus exposition (text format). The usage counted so far is written first, so the
    per-tenant counters (updated as usage is written) are current. The metrics token or the admin key
    only (``require_metrics_reader``): they name every tenant."""
    require_metrics_reader(request)
    services = services_of(request)
    await services.usage.flush()
    backends = services.backends
    engines = {b.description: b.prompt_stats() for b in backends if isinstance(b, PromptTokenSource)}
    health = {b.description: b.health() for b in backends if isinstance(b, SupervisedBackend)}
    body = await services.metrics.render(services.stores.queue, engines, health)
    return Response(body, media_type="text/plain; version=0.0.4; charset=utf-8")
