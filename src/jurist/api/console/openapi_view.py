"""The OpenAPI document as a reference a person reads: operations grouped by tag, each with its
parameters, request body and answers, a schema as a nested list of properties (types, required,
descriptions, enums; ``$ref``, ``allOf``, ``oneOf``/``anyOf`` and arrays resolved), cut at a depth and at
a schema already open above (a recursive one)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

METHODS = ("get", "post", "put", "patch", "delete")
MAX_DEPTH = 5  # nested levels of properties shown under an operation
_LINK = re.compile(r"\[([^\]]+)\]\([^)]*\)")
_WRAPPED = re.compile(r"(?<!\n)\n(?!\n)")  # a line break inside a paragraph
Schema = dict[str, Any]


def plain(text: str) -> str:
    """A description without markdown links (their text stays), bold marks or lines wrapped by hand."""
    return _WRAPPED.sub(" ", _LINK.sub(r"\1", text or "").replace("**", "")).strip()


@dataclass
class Node:
    name: str
    type: str
    required: bool = False
    description: str = ""
    enum: list[str] = field(default_factory=list)
    children: list[Node] = field(default_factory=list)
    note: str = ""  # why children are not shown (recursive, too deep)


@dataclass
class Body:
    content_type: str
    schema: Node


@dataclass
class Answer:
    status: str
    description: str
    bodies: list[Body]


@dataclass
class Parameter:
    name: str
    where: str
    required: bool
    type: str
    description: str


@dataclass
class Operation:
    method: str
    path: str
    id: str
    summary: str
    description: str
    admin: bool
    parameters: list[Parameter]
    request: list[Body]
    answers: list[Answer]
    examples: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class Tag:
    name: str
    operations: list[Operation]


class Reader:
    def __init__(self, doc: Schema) -> None:
        self.doc = doc
        self.schemas: dict[str, Schema] = doc.get("components", {}).get("schemas", {})

    def deref(self, schema: Schema) -> tuple[Schema, str | None]:
        name = None
        while isinstance(schema, dict) and "$ref" in schema:
            name = str(schema["$ref"]).rsplit("/", 1)[-1]
            schema = self.schemas.get(name, {})
        return schema, name

    def alternatives(self, schema: Schema) -> list[Schema]:
        found = schema.get("oneOf") or schema.get("anyOf") or []
        return [s for s in found if s.get("type") != "null"]

    def type_of(self, schema: Schema) -> str:
        resolved, name = self.deref(schema)
        if name:
            return name
        if "const" in resolved:
            return f'"{resolved["const"]}"'
        kind = resolved.get("type")
        if kind == "array" and "prefixItems" in resolved:  # a tuple
            return "[" + ", ".join(self.type_of(s) for s in resolved["prefixItems"]) + "]"
        if kind == "array":
            return f"array of {self.type_of(resolved.get('items', {}))}"
        if isinstance(kind, list):
            return " or ".join(str(k) for k in kind)
        options = resolved.get("oneOf") or resolved.get("anyOf")
        if options:
            labels = [self.type_of(s) for s in options if s.get("type") != "null"]
            nullable = len(labels) < len(options)
            return " | ".join(dict.fromkeys(labels)) + (" or null" if nullable else "")
        if "allOf" in resolved:
            return " & ".join(self.type_of(s) for s in resolved["allOf"])
        return str(kind or ("object" if "properties" in resolved else "any"))

    def node(self, schema: Schema, name: str, required: bool, depth: int, seen: frozenset[str]) -> Node:
        resolved, ref = self.deref(schema)
        description = plain(str(schema.get("description") or resolved.get("description") or ""))
        out = Node(name, self.type_of(schema), required, description)
        out.enum = [str(v) for v in resolved.get("enum", [])]
        if ref in seen:
            out.note = "recursive: see above"
            return out
        inner = seen | {ref} if ref else seen
        if depth >= MAX_DEPTH:
            out.note = "nested further" if self.expandable(resolved) else ""
            return out
        out.children = self.children(resolved, depth, inner)
        return out

    def expandable(self, schema: Schema) -> bool:
        items, _ = self.deref(schema.get("items", {}))
        return bool(
            schema.get("properties")
            or schema.get("allOf")
            or self.alternatives(schema)
            or items.get("properties")
        )

    def children(self, schema: Schema, depth: int, seen: frozenset[str]) -> list[Node]:
        if schema.get("type") == "array":
            items, _ = self.deref(schema.get("items", {}))
            return self.children(items, depth, seen) if not self.is_scalar(items) else []
        found: list[Node] = []
        for part in schema.get("allOf", []):
            resolved, ref = self.deref(part)
            if ref not in seen:
                found += self.children(resolved, depth, seen | ({ref} if ref else set()))
        required = set(schema.get("required", []))
        for key, value in schema.get("properties", {}).items():
            found.append(self.node(value, key, key in required, depth + 1, seen))
        found = list({n.name if n.name != "variant" else id(n): n for n in found}.values())  # allOf repeats
        alternatives = self.alternatives(schema)
        if len(alternatives) == 1:
            resolved, ref = self.deref(alternatives[0])
            if ref not in seen:
                found += self.children(resolved, depth, seen | ({ref} if ref else set()))
        elif alternatives:
            for option in alternatives:
                resolved, _ = self.deref(option)
                if not self.is_scalar(resolved):
                    found.append(self.node(option, "variant", False, depth + 1, seen))
        return found

    def is_scalar(self, schema: Schema) -> bool:
        return not self.expandable(schema) and schema.get("type") != "array"

    def bodies(self, content: Schema) -> list[Body]:
        return [
            Body(kind, self.node(media.get("schema", {}), "", False, 0, frozenset()))
            for kind, media in content.items()
        ]

    def parameter(self, raw: Schema) -> Parameter:
        resolved, _ = self.deref(raw)
        schema = resolved.get("schema", {})
        return Parameter(
            str(resolved.get("name", "")), str(resolved.get("in", "")), bool(resolved.get("required")),
            self.type_of(schema), plain(str(resolved.get("description") or schema.get("description") or "")),
        )  # fmt: skip

    def operation(self, base: str, path: str, method: str, raw: Schema) -> Operation:
        body = raw.get("requestBody", {})
        answers = [
            Answer(
                str(status), plain(str(answer.get("description", ""))), self.bodies(answer.get("content", {}))
            )
            for status, answer in raw.get("responses", {}).items()
        ]
        summary = plain(str(raw.get("summary", "")))
        first = summary.split("\n\n", 1)
        security = raw.get("security", [])
        return Operation(
            method.upper(), base + path, str(raw.get("operationId", f"{method}-{path}")),
            first[0], "\n\n".join([*first[1:], plain(str(raw.get("description", "")))]).strip(),
            any("AdminApiKeyAuth" in s for s in security),
            [self.parameter(p) for p in raw.get("parameters", [])],
            self.bodies(self.deref(body)[0].get("content", {})), answers,
        )  # fmt: skip


def reference(doc: Schema, examples: list[dict[str, Any]]) -> list[Tag]:
    """Operations by tag, in the document's order; each with the examples naming it."""
    reader = Reader(doc)
    servers = doc.get("servers") or [{"url": ""}]
    base = str(servers[0].get("url", "")).rstrip("/")
    tags: dict[str, Tag] = {}
    for path, item in doc.get("paths", {}).items():
        for method in METHODS:
            if method not in item:
                continue
            raw = item[method]
            op = reader.operation(base, path, method, raw)
            op.examples = [e for e in examples if f"{method.upper()} {path}" in e["operations"]]
            name = (raw.get("tags") or ["Other"])[0]
            tags.setdefault(name, Tag(name, [])).operations.append(op)
    return list(tags.values())


def featured(doc: Schema, names: tuple[str, ...]) -> list[Node]:
    """Some component schemas in full (Jurist's own: the judge item and the judgment)."""
    reader = Reader(doc)
    ref = "#/components/schemas/{}"
    return [
        reader.node({"$ref": ref.format(n)}, n, False, 0, frozenset()) for n in names if n in reader.schemas
    ]
