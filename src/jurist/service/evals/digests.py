"""What a run was graded with, as digests (so two runs can be compared only when they are comparable):

- each testing criterion: its definition (type, templates, prompt, thresholds, …; not its id) and the
  answer-deciding configuration of the model it names (``judging.cache.config_digest``);
- the sampling: a completions run's model (and its configuration), input messages and sampling params;
- the items: the rows' ``item`` objects in order (not their samples: a candidate's own outputs differ).

A digest is the SHA-256 of canonical JSON (sorted keys), hex."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence

import orjson

from jurist.protocol.json_types import JSONObject, JsonValue
from jurist.service.evals.data_sources import Row


def digest(value: object) -> str:
    return hashlib.sha256(orjson.dumps(value, option=orjson.OPT_SORT_KEYS)).hexdigest()


def criterion_digest(criterion: Mapping[str, JsonValue], models: Mapping[str, str]) -> str:
    defined = {k: v for k, v in criterion.items() if k != "id"}
    model = criterion.get("model")
    return digest({"criterion": defined, "model": models.get(model) if isinstance(model, str) else None})


def run_digests(
    criteria: Sequence[JsonValue],
    source: Mapping[str, JsonValue],
    rows: Sequence[Row],
    models: Mapping[str, str],
) -> JSONObject:
    """The digests a run records (``digests`` in its body)."""
    by_criterion: JSONObject = {}
    for criterion in criteria:
        if isinstance(criterion, dict):
            by_criterion[str(criterion.get("name"))] = criterion_digest(criterion, models)
    sampling = None
    if source.get("type") == "completions":
        model = source.get("model")
        spec = {k: v for k, v in source.items() if k != "source"}
        sampling = digest({"sampling": spec, "model": models.get(model) if isinstance(model, str) else None})
    items = [row.data.get("item") if isinstance(row.data, dict) else None for row in rows]
    return {"criteria": by_criterion, "sampling": sampling, "items": digest(items), "rows": len(rows)}
