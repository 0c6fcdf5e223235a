"""The HTTP API reference, from the app's OpenAPI document (``jurist.api.openapi.build_openapi``: the
packaged OpenAI document plus Jurist's extensions and its own endpoints): every operation with its
parameters, request body and answers, then the schemas they name. Operations and schemas of OpenAI's
document are marked as such and keep only their first sentence: OpenAI's wording describes OpenAI's
service (its limits, its models), and Jurist's behaviour is described in the guides."""

from __future__ import annotations

import json
import re
from importlib.resources import files
from typing import Any

from jurist.api.openapi import build_openapi

TAG_ORDER = ["Chat", "Models", "Files", "Batch", "Reports", "Labels", "Calibrations", "Evals", "Fine-tuning",
             "Usage", "Admin"]  # fmt: skip
GUIDES = {
    "Chat": "../judging/index.md",
    "Models": "../judging/index.md#the-models",
    "Files": "../batches/index.md",
    "Batch": "../batches/index.md",
    "Reports": "../batches/reports.md",
    "Labels": "../judging/labels.md",
    "Calibrations": "../judging/trust.md",
    "Evals": "../evals/index.md",
    "Fine-tuning": "../evals/index.md#graders",
    "Usage": "../operations/usage.md",
    "Admin": "../operations/limits-and-keys.md#keys-and-tenants",
}
METHODS = ("get", "post", "put", "patch", "delete")
_LINK = re.compile(r"\[([^\]]+)\]\([^)]*\)")


def _first_sentence(text: str) -> str:
    """The first sentence of the first paragraph that is not a note (``**Starting a new project?**``)
    or a rule (``---``)."""
    paragraphs = [p for p in text.split("\n\n") if p.strip() and not p.lstrip().startswith(("**", "---"))]
    text = " ".join((paragraphs or [""])[0].split())
    match = re.search(r"(?<=[.!?])\s+(?=[A-Z*`])", text)
    return text[: match.start()] if match else text


def _clean(text: str, openai: bool) -> str:
    text = _LINK.sub(r"\1", text or "")
    text = _first_sentence(text) if openai else " ".join(text.split())
    return text.replace("``", "`").replace("|", "\\|").replace("<", "&lt;")


def _refs(value: Any) -> list[str]:
    """The schema names ``value`` refers to, anywhere inside it."""
    if isinstance(value, dict):
        found = [value["$ref"].rsplit("/", 1)[-1]] if isinstance(value.get("$ref"), str) else []
        return found + [r for v in value.values() for r in _refs(v)]
    if isinstance(value, list):
        return [r for v in value for r in _refs(v)]
    return []


class Document:
    def __init__(self) -> None:
        self.doc: dict[str, Any] = json.loads(build_openapi())
        packaged = json.loads(files("jurist.api").joinpath("openapi.json").read_bytes())
        self.openai_ops = {(p, m) for p, ops in packaged["paths"].items() for m in ops if m in METHODS}
        self.openai_schemas = set(packaged["components"]["schemas"])
        self.schemas: dict[str, Any] = self.doc["components"]["schemas"]
        self.base = self.doc["servers"][0]["url"].rstrip("/")
        self.shown: list[str] = []

    # --- schemas ---
    def name(self, schema: dict[str, Any]) -> str | None:
        ref = schema.get("$ref")
        return ref.rsplit("/", 1)[-1] if isinstance(ref, str) else None

    def show(self, name: str) -> None:
        if name not in self.shown and name in self.schemas:
            self.shown.append(name)

    def kind(self, schema: dict[str, Any]) -> str:
        named = self.name(schema)
        if named:
            return f"[{named}](#schema-{named.lower()})" if named in self.shown else f"`{named}`"
        for key in ("oneOf", "anyOf"):
            if key in schema:
                return " \\| ".join(self.kind(s) for s in schema[key])
        if "allOf" in schema and len(schema["allOf"]) == 1:
            return self.kind(schema["allOf"][0])
        if "enum" in schema:
            values = [json.dumps(v) for v in schema["enum"]][:8]
            return " \\| ".join(f"`{v}`" for v in values) + (" …" if len(schema["enum"]) > 8 else "")
        if "const" in schema:
            return f"`{json.dumps(schema['const'])}`"
        kind = schema.get("type", "any")
        if isinstance(kind, list):
            kind = " \\| ".join(kind)
        if kind == "array" and isinstance(schema.get("items"), dict):
            return f"array of {self.kind(schema['items'])}"
        return f"{kind}{' or null' if schema.get('nullable') else ''}"

    def resolve(self, schema: dict[str, Any]) -> dict[str, Any]:
        named = self.name(schema)
        return self.resolve(self.schemas[named]) if named else schema

    def properties(self, schema: dict[str, Any]) -> tuple[dict[str, Any], set[str]]:
        """The object's properties and required names, through ``$ref`` and ``allOf``."""
        schema = self.resolve(schema)
        props: dict[str, Any] = dict(schema.get("properties") or {})
        required = set(schema.get("required") or [])
        for part in schema.get("allOf") or []:
            more, needed = self.properties(part)
            props.update(more)
            required |= needed
        return props, required

    def table(self, schema: dict[str, Any], openai: bool) -> list[str]:
        props, required = self.properties(schema)
        if not props:
            return []
        rows = ["| field | type | required | description |", "|---|---|---|---|"]
        for field, spec in props.items():
            spec = spec if isinstance(spec, dict) else {}
            text = _clean(spec.get("description") or self.resolve(spec).get("description", ""), openai)
            default = spec.get("default")
            if default is not None and not isinstance(default, dict | list):
                text += f" Default: `{json.dumps(default)}`."
            rows.append(f"| `{field}` | {self.kind(spec)} | {'yes' if field in required else ''} | {text} |")
        return [*rows, ""]

    def schema_section(self, name: str) -> list[str]:
        schema = self.schemas[name]
        openai = name in self.openai_schemas
        out = [f"### {name} {{#schema-{name.lower()}}}", ""]
        if openai:
            out += ["*OpenAI's schema.*", ""]
        description = _clean(schema.get("description", ""), openai)
        if description:
            out += [description, ""]
        for key in ("oneOf", "anyOf"):
            if key in schema:
                out += ["One of: " + ", ".join(self.kind(s) for s in schema[key]) + ".", ""]
        return out + self.table(schema, openai)

    # --- operations ---
    def operations(self) -> list[tuple[str, str, str, dict[str, Any]]]:
        """(tag, method, path, operation), in the order of ``TAG_ORDER`` then the document's."""
        found = []
        for path, ops in self.doc["paths"].items():
            for method, op in ops.items():
                if method in METHODS:
                    found.append(((op.get("tags") or ["Other"])[0], method, path, op))
        order = {tag: i for i, tag in enumerate(TAG_ORDER)}
        return sorted(found, key=lambda f: order.get(f[0], len(order)))

    def collect(self) -> None:
        """The schemas shown in full: those the operations name, and Jurist's judgment and judge item."""
        for _, _, _, op in self.operations():
            for media in (op.get("requestBody") or {}).get("content", {}).values():
                self.show(self.name(media.get("schema") or {}) or "")
            for answer in op.get("responses", {}).values():
                for media in (answer.get("content") or {}).values():
                    self.show(self.name(media.get("schema") or {}) or "")
        for name in ("JuristJudgeItem", "JuristJudgment"):
            self.show(name)
        for name in self.shown:  # and every schema of Jurist's they name, in turn (the list grows)
            if name not in self.openai_schemas:
                for ref in _refs(self.schemas[name]):
                    if ref not in self.openai_schemas:
                        self.show(ref)

    def operation(self, method: str, path: str, op: dict[str, Any]) -> list[str]:
        openai = (path, method) in self.openai_ops
        full = f"{self.base}{path}"
        out = [f"### `{method.upper()} {full}` {{#{op['operationId']}}}", ""]
        origin = "OpenAI's operation" if openai else "Jurist's operation"
        admin = any("AdminApiKeyAuth" in s for s in op.get("security") or [])
        out += [f"*{origin}; {'the admin key' if admin else 'an API key'} as a Bearer token.*", ""]
        summary = _clean(op.get("summary") or op.get("description") or "", openai)
        out += [summary, ""] if summary else []
        params = op.get("parameters") or []
        if params:
            out += ["| parameter | in | type | required | description |", "|---|---|---|---|---|"]
            for p in params:
                p = self.resolve(p)
                text = _clean(p.get("description", ""), openai)
                default = (p.get("schema") or {}).get("default")
                if default is not None:
                    text += f" Default: `{json.dumps(default)}`."
                kind = self.kind(p.get("schema") or {})
                out.append(
                    f"| `{p['name']}` | {p['in']} | {kind} | {'yes' if p.get('required') else ''} | {text} |"
                )
            out.append("")
        body = (op.get("requestBody") or {}).get("content", {})
        for media, spec in body.items():
            out += [f"Request body (`{media}`): {self.kind(spec.get('schema') or {})}", ""]
        out += ["| answer | description | body |", "|---|---|---|"]
        for status, answer in op.get("responses", {}).items():
            kinds = [self.kind(m.get("schema") or {}) for m in (answer.get("content") or {}).values()]
            out.append(f"| {status} | {_clean(answer.get('description', ''), openai)} | {', '.join(kinds)} |")
        return [*out, ""]


def render() -> str:
    doc = Document()
    doc.collect()
    ops = doc.operations()
    out = ["## Operations", "", "| operation | summary |", "|---|---|"]
    for _, method, path, op in ops:
        summary = _clean(op.get("summary") or "", True)
        out.append(f"| [`{method.upper()} {doc.base}{path}`](#{op['operationId']}) | {summary} |")
    out.append("")
    current = None
    for tag, method, path, op in ops:
        if tag != current:
            current = tag
            guide = GUIDES.get(tag)
            out += [f"## {tag}", ""] + ([f"The guide: [{tag}]({guide}).", ""] if guide else [])
        out += doc.operation(method, path, op)
    out += ["## Schemas", "", "The request and answer bodies the operations above name.", ""]
    for name in sorted(doc.shown, key=lambda n: (n not in ("JuristJudgeItem", "JuristJudgment"), n)):
        out += doc.schema_section(name)
    return "\n".join(out)
