"""Jurist's own endpoints in ``/openapi.json`` (those OpenAI does not define): one ``Op`` per method and
path in ``OPERATIONS``, its request and answer schemas taken from the pydantic models the endpoint
writes (or, for answers written as plain JSON, from ``openapi_models``). Adding an endpoint is adding
an ``Op``; a test checks that every route under /v1 is here or in OpenAI's part of the document."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Literal

from pydantic import TypeAdapter

from jurist.api.batch_compare import BatchComparison
from jurist.api.openapi_compare import EvalRunsComparison
from jurist.api.openapi_experiments import HeadToHead, HeadToHeadCreate, Leaderboard
from jurist.api.openapi_models import (
    BatchLabelDeleted,
    BatchLabelList,
    Calibration,
    CalibrationCreate,
    CalibrationList,
    LabelInput,
    UsageReport,
)
from jurist.evaluation.agreement import Agreement
from jurist.protocol.admin import (
    ApiKeyDeleted,
    ApiKeyList,
    ApiKeyObject,
    CreatedApiKey,
    KeyCreate,
    TenantList,
    TenantObject,
    TenantUpdate,
)
from jurist.protocol.chat import ModelCard, ModelList
from jurist.protocol.json_types import JSONObject
from jurist.service.trust.reports import BatchReport

REF = "#/components/schemas/{model}"


@dataclass(frozen=True)
class Param:
    name: str
    description: str
    schema: JSONObject


@dataclass(frozen=True)
class Op:
    method: str
    path: str  # under /v1, as in the document ({name} for a path parameter, always a string)
    operation_id: str
    tag: str
    summary: str
    response: (
        Any  # a pydantic model (or a union of them) the answer validates against, or an OpenAI schema's name
    )
    status: int = 200
    body: Any = None  # the request body's model, if any
    query: tuple[Param, ...] = ()
    admin: bool = False  # the admin key's (JURIST_ADMIN_KEY) rather than a tenant's
    html: bool = False  # also answers text/html (?format=html)
    schema_name: str = ""  # the answer's schema name when ``response`` is a union (else its class name)
    # "validation" for an answer whose model writes itself with a serializer of its own (its
    # serialization schema would be opaque): the report, which leaves out absent sections
    response_mode: Literal["validation", "serialization"] = "serialization"


def _int(name: str, default: int, low: int, high: int, what: str) -> Param:
    return Param(name, what, {"type": "integer", "default": default, "minimum": low, "maximum": high})


def _str(name: str, what: str) -> Param:
    return Param(name, what, {"type": "string"})


_DAY: JSONObject = {"type": "string", "format": "date"}
_MARGIN = Param("margin", "The practical margin (0, 1).", {"type": "number", "default": 0.02})
_ALPHA = Param("alpha", "The significance level (0, 0.5].", {"type": "number", "default": 0.05})
_BOOTSTRAP = _int("bootstrap", 1000, 1, 10000, "Bootstrap resamples of the confidence intervals.")
_SEED = _int("seed", 0, 0, 2**32 - 1, "Seed of the bootstrap.")
_START = Param("start", "First day counted, YYYY-MM-DD (UTC; default: 29 days before end).", _DAY)
_END = Param("end", "Last day counted, YYYY-MM-DD (UTC; default: today).", _DAY)
_ADMIN_TENANT = _str("tenant", "Only this tenant (and its sub-tenants).")


def _group_by(*keys: str) -> Param:
    return _str("group_by", f"One of {', '.join(keys)}, or several comma-separated.")


OPERATIONS: tuple[Op, ...] = (
    Op("get", "/models", "listModels", "Models", "The configured judge models.", ModelList),
    Op("get", "/models/{model}", "retrieveModel", "Models", "One judge model.", ModelCard),
    Op("get", "/batches/{batch_id}/report", "batchReport", "Reports",
       "The batch's report (JSON, or ?format=html a self-contained page).",
       BatchReport, html=True, response_mode="validation",
       query=(Param("format", "json or html.", {"type": "string", "enum": ["json", "html"]}),
              _BOOTSTRAP, _SEED)),
    Op("get", "/batches/compare", "compareBatches", "Reports",
       "Is the candidate batch better than the base? Paired by custom_id, per criterion and overall.",
       BatchComparison, response_mode="validation",
       query=(_str("base", "The base batch's id."), _str("candidate", "The candidate batch's id."),
              _MARGIN, _ALPHA,
              _str("criterion", "Only this criterion of the judgments."),
              Param("threshold", "Single mode: a line passes at this score (default: the middle of its "
                    "score range).", {"type": "number"}),
              _int("diffs", 100, 0, 10000, "Changed lines listed."))),
    Op("post", "/batches/{batch_id}/labels", "createLabels", "Labels",
       "Add human labels to the batch's judged lines (a JSON list, or JSONL, of labels); all or none.",
       BatchLabelList, body=list[LabelInput]),
    Op("get", "/batches/{batch_id}/labels", "listLabels", "Labels", "The batch's human labels.",
       BatchLabelList),
    Op("delete", "/batches/{batch_id}/labels/{custom_id}", "deleteLabel", "Labels",
       "Delete one annotator's label of a line.", BatchLabelDeleted,
       query=(_str("annotator", "Whose label (default: \"default\")."),)),
    Op("get", "/batches/{batch_id}/agreement", "batchAgreement", "Labels",
       "The judge's agreement with the batch's human labels.", Agreement, query=(_BOOTSTRAP, _SEED)),
    Op("post", "/calibrations", "createCalibration", "Calibrations",
       "Fit the next version of a model's calibration on the labelled lines of these batches.",
       Calibration, body=CalibrationCreate),
    Op("get", "/calibrations", "listCalibrations", "Calibrations", "The tenant's calibrations, newest first.",
       CalibrationList, query=(_str("model", "Only this model's."),)),
    Op("get", "/calibrations/{calibration_id}", "retrieveCalibration", "Calibrations", "One calibration.",
       Calibration),
    Op("get", "/evals/{eval_id}/runs/compare", "compareEvalRuns", "Evals",
       "Is the candidate run better than the base? Paired statistics per criterion and overall.",
       EvalRunsComparison, response_mode="validation",
       query=(_str("base", "The base run's id."), _str("candidate", "The candidate run's id."),
              _MARGIN, _ALPHA,
              _str("criterion", "Only this testing criterion."),
              Param("allow_mismatch", "Compare runs graded differently.",
                    {"type": "boolean", "default": False}),
              _int("diffs", 100, 0, 10000, "Changed rows listed."))),
    Op("post", "/evals/{eval_id}/runs/head_to_head", "createHeadToHeadRun", "Evals",
       "A run judging two runs' answers pairwise, in both orders (answered like creating a run).",
       "EvalRun", status=201, body=HeadToHeadCreate),
    Op("get", "/evals/{eval_id}/runs/{run_id}/head_to_head", "headToHead", "Evals",
       "A head-to-head run's win rate, tie rate, position consistency and decision.", HeadToHead,
       response_mode="validation", query=(_MARGIN, _ALPHA)),
    Op("get", "/evals/{eval_id}/leaderboard", "evalLeaderboard", "Evals",
       "A Bradley–Terry board of the runs met in the eval's head-to-head runs.", Leaderboard,
       response_mode="validation",
       query=(Param("style_control", "Hold answer length and markdown fixed.",
                    {"type": "boolean", "default": True}),
              _int("rounds", 200, 1, 2000, "Bootstrap resamples of the rating intervals."))),
    Op("get", "/usage", "usage", "Usage", "The key's tenant's usage (and its sub-tenants').",
       UsageReport, query=(_START, _END, _group_by("day", "model"))),
    Op("get", "/admin/usage", "adminUsage", "Admin", "Every tenant's usage, or one tenant's.",
       UsageReport, admin=True, query=(_ADMIN_TENANT, _START, _END, _group_by("tenant", "day", "model"))),
    Op("post", "/admin/keys", "createKey", "Admin",
       "A new key for a tenant (the secret is in this answer only).", CreatedApiKey, status=201,
       body=KeyCreate, admin=True),
    Op("get", "/admin/keys", "listKeys", "Admin", "The keys in the database.", ApiKeyList, admin=True,
       query=(_str("tenant", "Only this tenant's keys."),)),
    Op("get", "/admin/keys/{key_id}", "retrieveKey", "Admin", "One key.", ApiKeyObject, admin=True),
    Op("delete", "/admin/keys/{key_id}", "revokeKey", "Admin", "Revoke a key.", ApiKeyDeleted,
       admin=True),
    Op("get", "/admin/tenants", "listTenants", "Admin", "The tenants in the database.", TenantList,
       admin=True),
    Op("get", "/admin/tenants/{tenant}", "retrieveTenant", "Admin", "One tenant's limits and weight.",
       TenantObject, admin=True),
    Op("post", "/admin/tenants/{tenant}", "updateTenant", "Admin",
       "Change a tenant's limits or weight (those not given stay).", TenantObject, body=TenantUpdate,
       admin=True),
)  # fmt: skip


def _register(
    model: Any, mode: Literal["validation", "serialization"], name: str, schemas: JSONObject, openai: set[str]
) -> JSONObject:
    """Put ``model``'s schema (named ``name``, unless it is a list) and the schemas it refers to among
    ``schemas``; what refers to it. A name of OpenAI's, or taken by another schema, is an error."""
    schema: JSONObject = TypeAdapter(model).json_schema(mode=mode, ref_template=REF)
    defs = schema.pop("$defs", {})
    if not isinstance(defs, dict):
        raise TypeError(f"pydantic wrote $defs of {model} as {type(defs)}")
    found = schema
    if schema.get("type") != "array":  # a list of models stays inline
        found = {"$ref": REF.format(model=name)}
        defs[name] = schema
    for key, definition in defs.items():
        if key in openai or schemas.get(key, definition) != definition:
            raise RuntimeError(f"Jurist's schema {key} would replace another one")
        schemas[key] = definition
    return found


def _operation(op: Op, schemas: JSONObject, openai: set[str]) -> JSONObject:
    if isinstance(op.response, str):  # one of OpenAI's schemas, by name
        if op.response not in openai:
            raise RuntimeError(f"OpenAI's document has no schema {op.response}")
        answered: JSONObject = {"$ref": REF.format(model=op.response)}
    else:
        name = op.schema_name or op.response.__name__
        answered = _register(op.response, op.response_mode, name, schemas, openai)
    answer: JSONObject = {"application/json": {"schema": answered}}
    if op.html:
        answer["text/html"] = {"schema": {"type": "string"}}
    params: list[Any] = [
        {"name": name, "in": "path", "required": True, "schema": {"type": "string"}}
        for name in re.findall(r"\{(\w+)\}", op.path)
    ]
    params += [
        {"name": p.name, "in": "query", "required": False, "description": p.description, "schema": p.schema}
        for p in op.query
    ]
    found: JSONObject = {
        "operationId": op.operation_id,
        "tags": [op.tag],
        "summary": op.summary,
        "parameters": params,
        "responses": {
            str(op.status): {"description": "OK", "content": answer},
            "default": {
                "description": "An error, in OpenAI's envelope.",
                "content": {"application/json": {"schema": {"$ref": REF.format(model="ErrorResponse")}}},
            },
        },
    }
    if op.body is not None:
        body = _register(op.body, "validation", getattr(op.body, "__name__", ""), schemas, openai)
        found["requestBody"] = {"required": True, "content": {"application/json": {"schema": body}}}
    if op.admin:
        found["security"] = [{"AdminApiKeyAuth": []}]
    return found


def add_operations(doc: JSONObject, operations: tuple[Op, ...] = OPERATIONS) -> None:
    """Add ``operations`` (paths and schemas) to the OpenAPI document ``doc`` (OpenAI's, as packaged)."""
    paths, components = doc["paths"], doc["components"]
    if not isinstance(paths, dict) or not isinstance(components, dict):
        raise TypeError("the packaged OpenAPI document is not what Jurist expects")
    schemas = components["schemas"]
    if not isinstance(schemas, dict):
        raise TypeError("the packaged OpenAPI document is not what Jurist expects")
    openai = set(schemas)
    for op in operations:
        methods = paths.setdefault(op.path, {})
        if not isinstance(methods, dict) or op.method in methods:
            raise RuntimeError(f"{op.method.upper()} {op.path} is in the document twice")
        methods[op.method] = _operation(op, schemas, openai)
