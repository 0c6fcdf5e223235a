"""The Playground (``/console/playground``): judge one item from a form, as the signed-in tenant. The page
posts the form (with the session's CSRF token); the server builds the body ``POST /v1/chat/completions``
would get, parses it with the API's own parser and runs the same use case (tenant limits, usage, the judge
cache), then renders the verdict, the judge prompt, latency, tokens and cache status next to the form, with
the same call as curl and as the openai SDK's Python. Bad input is the API's 400 message beside the form.
The page reads the response as the API's typed models (``ChatCompletion`` and its ``Judgment``), the same
ones the API writes its JSON from."""

from __future__ import annotations

import time
from dataclasses import dataclass

import orjson
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from jurist.api.console.forms import read_form
from jurist.api.console.playground_form import ChatBody, PlaygroundForm, curl_command, python_code
from jurist.api.console.session import page, tenant_of_page
from jurist.api.console.templating import pages_of
from jurist.api.deps import services_of
from jurist.composition import Services
from jurist.errors import JuristError, PayloadTooLarge
from jurist.protocol.chat import ChatCompletion, Usage
from jurist.protocol.judgment import PairwiseJudgment, SingleJudgment
from jurist.service.judging.requests import parse_chat_request
from jurist.service.tenancy.auth import Tenant

PATH = "/playground"


@dataclass(frozen=True)
class Outcome:
    """A judged item: the API's response, how long it took and whether the judge cache answered."""

    completion: ChatCompletion
    latency_ms: float
    cache: str | None  # "hit" / "miss" / None (not cacheable)

    @property
    def model(self) -> str:
        return self.completion.model

    @property
    def usage(self) -> Usage:
        return self.completion.usage

    @property
    def judgment(self) -> SingleJudgment | PairwiseJudgment | None:
        """Jurist's verdict (None for a custom template); an optional block it lacks is None or empty."""
        return self.completion.judgment

    @property
    def text(self) -> str:
        return self.completion.choices[0].message.content or ""

    @property
    def pretty(self) -> str:
        """The response's JSON, as the API sends it, indented."""
        response = orjson.loads(self.completion.model_dump_json())
        return orjson.dumps(response, option=orjson.OPT_INDENT_2).decode()


@dataclass(frozen=True)
class Snippets:
    """The same call, to copy: as a curl command and as the openai SDK's Python."""

    curl: str
    python: str


def _default_model(services: Services) -> str:
    models = list(services.chat.models)
    return "pai-judge" if "pai-judge" in models or not models else models[0]


def _base_url(request: Request) -> str:
    return str(request.base_url).rstrip("/") + "/v1"


def _render(
    request: Request,
    form: PlaygroundForm,
    outcome: Outcome | None = None,
    error: JuristError | None = None,
    body: ChatBody | None = None,
) -> Response:
    services, tenant = services_of(request), tenant_of_page(request)
    snippets = None
    if body is not None:
        url = _base_url(request)
        snippets = Snippets(
            curl_command(body, url, tenant.on_behalf_of), python_code(body, url, tenant.on_behalf_of)
        )
    return pages_of(request).render(
        request,
        "playground.html",
        status=200 if error is None else error.status_code,
        section="playground",
        form=form,
        models=list(services.chat.models),
        outcome=outcome,
        error=error,
        snippets=snippets,
    )


@page
async def playground(request: Request) -> Response:
    tenant_of_page(request)  # the admin's session has no tenant to judge for (403 page)
    return _render(request, PlaygroundForm(model=_default_model(services_of(request))))


@page
async def judge(request: Request) -> Response:
    services = services_of(request)
    tenant = tenant_of_page(request)
    form = PlaygroundForm.parse(await read_form(request), _default_model(services))
    body = form.body()
    try:
        outcome = await _complete(services, tenant, body)
    except JuristError as error:
        return _render(request, form, error=error, body=body)
    return _render(request, form, outcome=outcome, body=body)


async def _complete(services: Services, tenant: Tenant, raw: ChatBody) -> Outcome:
    """What ``POST /v1/chat/completions`` does for this tenant (JSON, not streamed)."""
    limit = services.settings.max_request_bytes
    if len(orjson.dumps(raw)) > limit:
        raise PayloadTooLarge(f"The request body is larger than the limit of {limit} bytes.")
    body = parse_chat_request(raw)
    limiter = services.limiter
    admission = None if limiter is None else await limiter.admit(tenant.account, tenant.policy)
    kind = "custom" if body.judge is None else "judge"
    services.metrics.chat.labels(body.model if body.model in services.chat.models else "unknown", kind).inc()
    started = time.perf_counter()
    completion: ChatCompletion = await services.chat.complete(body, tenant.id)
    latency_ms = (time.perf_counter() - started) * 1000
    status = completion.cache_status
    services.usage.record_completion(tenant.id, body.model, completion, hit=status == "hit")
    if admission is not None and limiter is not None:
        await limiter.charge(admission, completion.usage.total_tokens)
    return Outcome(completion, latency_ms, status)


ROUTES = [
    Route(PATH, playground, methods=["GET"]),
    Route(PATH, judge, methods=["POST"]),
]
