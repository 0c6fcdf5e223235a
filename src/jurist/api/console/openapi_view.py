"""The OpenAPI document as a reference a person reads: operations grouped by tag, each with its
parameters, request body and answers, a schema as a nested list of properties (types, required,
descriptions, enums; ``$ref``, ``allOf``, ``oneOf``/``anyOf`` and arrays resolved), cut at a depth and at
a schema already open above (a recursive one). The document is JSON as it came (``JSONObject``): a part
of another kind than OpenAPI gives it reads as empty."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from jurist.protocol.json_types import JSONObject, JsonValue

METHODS = ("get", "post", "put", "patch", "delete")
MAX_DEPTH = 5  # nested levels of properties shown under an operation
_LINK = re.compile(r"\[([^\]]+)\]\([^)]*\)")
_WRAPPED = re.compile(r"(?<!\n)\n(?!\n)")  # a line break inside a paragraph


def _object(value: JsonValue) -> JSONObject:
    return value if isinstance(value, dict) else {}


def _list(value: JsonValue) -> list[JsonValue]:
    return value if isinstance(value, list) else []


def _objects(value: JsonValue) -> list[JSONObject]:
    return [item for item in _list(value) if isinstance(item, dict)]


def plain(text: str) -> str:
    """A description without markdown links (their text stays), bold marks or lines wrapped by hand."""
    return _WRAPPED.sub(" ", _LINK.sub(r"\1", text or "").replace("**", "")).strip()


@dataclass(frozen=True)
class Example:
    """A call from the seed's documentation (``examples.json``): its code and the operations it makes."""

    id: str
    title: str
    lang: str
    operations: tuple[str, ...]
    code: str


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
    examples: list[Example] = field(default_factory=list)


@dataclass
class Tag:
    name: str
    operations: list[Operation]


class Reader:
    def __init__(self, doc: JSONObject) -> None:
        self.doc = doc
        self.schemas = _object(_object(doc.get("components")).get("schemas"))

    def deref(self, schema: JSONObject) -> tuple[JSONObject, str | None]:
        name = None
        while "$ref" in schema:
            name = str(schema["$ref"]).rsplit("/", 1)[-1]
            schema = _object(self.schemas.get(name))
        return schema, name

    def alternatives(self, schema: JSONObject) -> list[JSONObject]:
        found = _objects(schema.get("oneOf") or schema.get("anyOf"))
        return [s for s in found if s.get("type") != "null"]

    def type_of(self, schema: JSONObject) -> str:
        resolved, name = self.deref(schema)
        if name:
            return name
        if "const" in resolved:
            return f'"{resolved["const"]}"'
        kind = resolved.get("type")
        if kind == "array" and "prefixItems" in resolved:  # a tuple
            return "[" + ", ".join(self.type_of(s) for s in _objects(resolved["prefixItems"])) + "]"
        if kind == "array":
            return f"array of {self.type_of(_object(resolved.get('items')))}"
        if isinstance(kind, list):
            return " or ".join(str(k) for k in kind)
        options = _objects(resolved.get("oneOf") or resolved.get("anyOf"))
        if options:
            labels = [self.type_of(s) for s in options if s.get("type") != "null"]
            nullable = len(labels) < len(options)
            return " | ".join(dict.fromkeys(labels)) + (" or null" if nullable else "")
        if "allOf" in resolved:
            return " & ".join(self.type_of(s) for s in _objects(resolved["allOf"]))
        return str(kind or ("object" if "properties" in resolved else "any"))

    def node(self, schema: JSONObject, name: str, required: bool, depth: int, seen: frozenset[str]) -> Node:
        resolved, ref = self.deref(schema)
        description = plain(str(schema.get("description") or resolved.get("description") or ""))
        out = Node(name, self.type_of(schema), required, description)
        out.enum = [str(v) for v in _list(resolved.get("enum"))]
        if ref in seen:
            out.note = "recursive: see above"
            return out
        inner = seen | {ref} if ref else seen
        if depth >= MAX_DEPTH:
            out.note = "nested further" if self.expandable(resolved) else ""
            return out
        out.children = self.children(resolved, depth, inner)
        return out

    def expandable(self, schema: JSONObject) -> bool:
        items, _ = self.deref(_object(schema.get("items")))
        return bool(
            schema.get("properties")
            or schema.get("allOf")
            or self.alternatives(schema)
            or items.get("properties")
        )

    def children(self, schema: JSONObject, depth: int, seen: frozenset[str]) -> list[Node]:
        if schema.get("type") == "array":
            items, _ = self.deref(_object(schema.get("items")))
            return self.children(items, depth, seen) if not self.is_scalar(items) else []
        found: list[Node] = []
        for part in _objects(schema.get("allOf")):
            resolved, ref = self.deref(part)
            if ref not in seen:
                found += self.children(resolved, depth, seen | ({ref} if ref else set()))
        required = {key for key in _list(schema.get("required")) if isinstance(key, str)}
        for key, value in _object(schema.get("properties")).items():
            found.append(self.node(_object(value), key, key in required, depth + 1, seen))
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

    def is_scalar(self, schema: JSONObject) -> bool:
        return not self.expandable(schema) and schema.get("type") != "array"

    def bodies(self, content: JSONObject) -> list[Body]:
        return [
            Body(kind, self.node(_object(_object(media).get("schema")), "", False, 0, frozenset()))
            for kind, media in content.items()
        ]

    def parameter(self, raw: JSONObject) -> Parameter:
        resolved, _ = self.deref(raw)
        schema = _object(resolved.get("schema"))
        return Parameter(
            str(resolved.get("name", "")), str(resolved.get("in", "")), bool(resolved.get("required")),
            self.type_of(schema), plain(str(resolved.get("description") or schema.get("description") or "")),
        )  # fmt: skip

    def answer(self, status: str, raw: JSONObject) -> Answer:
        return Answer(
            status, plain(str(raw.get("description", ""))), self.bodies(_object(raw.get("content")))
        )

    def operation(self, base: str, path: str, method: str, raw: JSONObject) -> Operation:
        body = _object(raw.get("requestBody"))
        answers = [
            self.answer(status, _object(value)) for status, value in _object(raw.get("responses")).items()
        ]
        summary = plain(str(raw.get("summary", "")))
        first = summary.split("\n\n", 1)
        security = _objects(raw.get("security"))
        return Operation(
            method.upper(), base + path, str(raw.get("operationId", f"{method}-{path}")),
            first[0], "\n\n".join([*first[1:], plain(str(raw.get("description", "")))]).strip(),
            any("AdminApiKeyAuth" in s for s in security),
            [self.parameter(p) for p in _objects(raw.get("parameters"))],
            self.bodies(_object(self.deref(body)[0].get("content"))), answers,
        )  # fmt: skip


def reference(doc: JSONObject, examples: list[Example]) -> list[Tag]:
    """Operations by tag, in the document's order; each with the examples naming it."""
    reader = Reader(doc)
    servers = _objects(doc.get("servers")) or [{"url": ""}]
    base = str(servers[0].get("url", "")).rstrip("/")
    tags: dict[str, Tag] = {}
    for path, value in _object(doc.get("paths")).items():
        item = _object(value)
        for method in METHODS:
            if method not in item:
                continue
            raw = _object(item[method])
            op = reader.operation(base, path, method, raw)
            op.examples = [e for e in examples if f"{method.upper()} {path}" in e.operations]
            name = str((_list(raw.get("tags")) or ["Other"])[0])
            tags.setdefault(name, Tag(name, [])).operations.append(op)
    return list(tags.values())


def featured(doc: JSONObject, names: tuple[str, ...]) -> list[Node]:
    """Some component schemas in full (Jurist's own: the judge item and the judgment)."""
    reader = Reader(doc)
    ref = "#/components/schemas/{}"
    return [
        reader.node({"$ref": ref.format(n)}, n, False, 0, frozenset()) for n in names if n in reader.schemas
    ]
