"""The schema a database actually has, read from its own catalogue (not from the statements that built
it), as a set of facts that can be compared: tables, columns (type, nullability, default, key),
indexes (columns, uniqueness) and constraints.

SQLite: ``sqlite_master`` and ``PRAGMA table_info / index_list / index_info / foreign_key_list``.
PostgreSQL: ``information_schema`` (tables, columns), ``pg_indexes`` and ``pg_constraint``, in the
connection's current schema (names qualified by that schema are written unqualified, so two schemas
of one server compare equal).
"""

from __future__ import annotations

from typing import Any

from jurist.store.database import Database, Tx

Fact = tuple[str, ...]
Schema = frozenset[Fact]


async def read_schema(db: Database) -> Schema:
    async with db.transaction() as tx:
        if db.dialect == "sqlite":
            return frozenset(await _sqlite(tx))
        return frozenset(await _postgres(tx))


def schema_diff(expected: Schema, actual: Schema) -> list[str]:
    """The facts only one side has, one line each (empty when the schemas are the same)."""
    return [f"- {' '.join(f)}" for f in sorted(expected - actual)] + [
        f"+ {' '.join(f)}" for f in sorted(actual - expected)
    ]


def _quoted(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


async def _sqlite(tx: Tx) -> set[Fact]:
    facts: set[Fact] = set()
    objects = await tx.fetchall(
        "SELECT type, name, sql FROM sqlite_master WHERE type IN ('table', 'view', 'trigger') "
        "AND name NOT LIKE 'sqlite%'"
    )
    for obj in objects:
        name, sql = obj["name"], " ".join(str(obj["sql"]).split())
        if obj["type"] != "table":
            facts.add((obj["type"], name, sql))
            continue
        facts.add(("table", name, "autoincrement" if "AUTOINCREMENT" in sql.upper() else "rowid"))
        for c in await tx.fetchall(f"PRAGMA table_info({_quoted(name)})"):
            facts.add(
                ("column", name, c["name"], str(c["type"]).upper(), _null(not c["notnull"]),
                 f"default={c['dflt_value']}", f"key={c['pk']}")
            )  # fmt: skip
        for i in await tx.fetchall(f"PRAGMA index_list({_quoted(name)})"):
            parts = await tx.fetchall(f"PRAGMA index_info({_quoted(i['name'])})")
            columns = "(" + ", ".join(str(p["name"]) for p in sorted(parts, key=lambda p: p["seqno"])) + ")"
            # SQLite names the indexes behind UNIQUE / PRIMARY KEY by creation order: compare their columns
            index = "(automatic)" if i["name"].startswith("sqlite_autoindex_") else i["name"]
            facts.add(
                ("index", name, index, "unique" if i["unique"] else "not unique", f"origin={i['origin']}",
                 "partial" if i["partial"] else "whole", columns)
            )  # fmt: skip
        for k in await tx.fetchall(f"PRAGMA foreign_key_list({_quoted(name)})"):
            facts.add(
                ("foreign key", name, k["from"], k["table"], str(k["to"]), k["on_update"], k["on_delete"])
            )
    return facts


async def _postgres(tx: Tx) -> set[Fact]:
    row = await tx.fetchone("SELECT current_schema() AS s")
    schema = str(row["s"]) if row else "public"

    def local(text: Any) -> str:
        return str(text).replace(f"{schema}.", "")

    facts: set[Fact] = set()
    for t in await tx.fetchall(
        "SELECT table_name FROM information_schema.tables "
        "WHERE table_schema = current_schema() AND table_type = 'BASE TABLE'"
    ):
        facts.add(("table", t["table_name"]))
    for c in await tx.fetchall(
        "SELECT table_name, column_name, data_type, is_nullable, column_default, is_identity, "
        "identity_generation FROM information_schema.columns WHERE table_schema = current_schema()"
    ):
        facts.add(
            ("column", c["table_name"], c["column_name"], c["data_type"], _null(c["is_nullable"] == "YES"),
             f"default={local(c['column_default'])}", f"identity={c['identity_generation']}")
        )  # fmt: skip
    for i in await tx.fetchall(
        "SELECT tablename, indexname, indexdef FROM pg_indexes WHERE schemaname = current_schema()"
    ):
        facts.add(("index", i["tablename"], i["indexname"], local(i["indexdef"])))
    for k in await tx.fetchall(
        "SELECT c.relname AS table_name, k.conname, k.contype, pg_get_constraintdef(k.oid) AS definition "
        "FROM pg_constraint k JOIN pg_class c ON c.oid = k.conrelid "
        "JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = current_schema()"
    ):
        facts.add(("constraint", k["table_name"], k["conname"], str(k["contype"]), local(k["definition"])))
    return facts


def _null(nullable: bool) -> str:
    return "null" if nullable else "not null"
