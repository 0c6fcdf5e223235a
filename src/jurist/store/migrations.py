"""Ordered, named schema migrations for both databases, and the runner behind ``jurist db upgrade``.

Each migration is one DDL template rendered per dialect, applied once (``schema_migrations`` records
it). Migrations already released are never edited: a change is a new migration at the end, so an old
install and a new one reach the same schema (``store.catalogue`` reads it; the contract tests compare).
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass

from jurist.store.database import Database, Dialect

_TYPES: dict[Dialect, dict[str, str]] = {
    "sqlite": {
        "pk_seq": "INTEGER PRIMARY KEY AUTOINCREMENT",
        "bigint": "INTEGER",
        "real": "REAL",
        "blob": "BLOB",
        "bytewise": "",  # SQLite compares TEXT byte by byte already (BINARY)
    },
    "postgresql": {
        "pk_seq": "BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY",
        "bigint": "BIGINT",
        "real": "DOUBLE PRECISION",
        "blob": "BYTEA",
        "bytewise": ' COLLATE "C"',
    },
}


@dataclass(frozen=True)
class Migration:
    name: str
    ddl: str

    def render(self, dialect: Dialect) -> list[str]:
        sql = self.ddl.format(**_TYPES[dialect])
        return [s.strip() for s in sql.split(";") if s.strip()]


MIGRATIONS: tuple[Migration, ...] = (
    Migration(
        "0001_files_batches_requests",
        """
        CREATE TABLE files (
            seq {pk_seq},
            id TEXT NOT NULL UNIQUE,
            tenant TEXT NOT NULL,
            purpose TEXT NOT NULL,
            filename TEXT NOT NULL,
            bytes {bigint} NOT NULL,
            created_at {bigint} NOT NULL,
            expires_at {bigint},
            storage TEXT NOT NULL
        );
        CREATE INDEX files_by_tenant ON files (tenant, seq);
        CREATE TABLE file_chunks (
            file_id TEXT NOT NULL,
            part INTEGER NOT NULL,
            data {blob} NOT NULL,
            PRIMARY KEY (file_id, part)
        );
        CREATE TABLE batches (
            seq {pk_seq},
            id TEXT NOT NULL UNIQUE,
            tenant TEXT NOT NULL,
            endpoint TEXT NOT NULL,
            input_file_id TEXT NOT NULL,
            completion_window TEXT NOT NULL,
            status TEXT NOT NULL,
            outcome TEXT,
            model TEXT,
            metadata TEXT,
            errors TEXT,
            output_file_id TEXT,
            error_file_id TEXT,
            created_at {bigint} NOT NULL,
            expires_at {bigint},
            in_progress_at {bigint},
            finalizing_at {bigint},
            completed_at {bigint},
            failed_at {bigint},
            expired_at {bigint},
            cancelling_at {bigint},
            cancelled_at {bigint},
            total INTEGER NOT NULL DEFAULT 0,
            completed INTEGER NOT NULL DEFAULT 0,
            failed INTEGER NOT NULL DEFAULT 0,
            input_tokens {bigint} NOT NULL DEFAULT 0,
            output_tokens {bigint} NOT NULL DEFAULT 0,
            task_owner TEXT,
            task_until {real},
            idempotency_key TEXT
        );
        CREATE INDEX batches_by_tenant ON batches (tenant, seq);
        CREATE UNIQUE INDEX batches_idempotency ON batches (tenant, idempotency_key);
        CREATE INDEX batches_by_status ON batches (status);
        CREATE TABLE batch_requests (
            batch_id TEXT NOT NULL,
            batch_seq {bigint} NOT NULL,
            line INTEGER NOT NULL,
            custom_id TEXT NOT NULL,
            model TEXT NOT NULL,
            body TEXT NOT NULL,
            state TEXT NOT NULL,
            attempts INTEGER NOT NULL DEFAULT 0,
            not_before {real} NOT NULL DEFAULT 0,
            lease_owner TEXT,
            lease_until {real},
            status_code INTEGER,
            request_id TEXT,
            response TEXT,
            PRIMARY KEY (batch_id, line)
        );
        CREATE INDEX batch_requests_claim ON batch_requests (model, state, batch_seq, line);
        CREATE INDEX batch_requests_lease ON batch_requests (lease_owner)
        """,
    ),
    Migration(
        "0002_judge_cache",
        """
        CREATE TABLE judge_cache (
            key TEXT PRIMARY KEY,
            model TEXT NOT NULL,
            response TEXT NOT NULL,
            created_at {bigint} NOT NULL
        )
        """,
    ),
    Migration(
        "0003_tenants_limits_usage",
        """
        CREATE TABLE tenants (
            id TEXT PRIMARY KEY,
            weight {real} NOT NULL DEFAULT 1,
            rpm INTEGER,
            tpm INTEGER,
            max_batches INTEGER,
            max_queued_lines INTEGER,
            quota_bytes {bigint},
            created_at {bigint} NOT NULL,
            updated_at {bigint} NOT NULL
        );
        CREATE TABLE api_keys (
            id TEXT PRIMARY KEY,
            digest TEXT NOT NULL UNIQUE,
            name TEXT NOT NULL,
            tenant TEXT NOT NULL,
            created_at {bigint} NOT NULL,
            last_used_at {bigint},
            revoked_at {bigint}
        );
        CREATE INDEX api_keys_by_tenant ON api_keys (tenant);
        CREATE TABLE rate_buckets (
            name TEXT PRIMARY KEY,
            tat {real} NOT NULL
        );
        CREATE TABLE upstream_state (
            model TEXT PRIMARY KEY,
            state TEXT NOT NULL DEFAULT 'closed',
            paused_until {real} NOT NULL DEFAULT 0,
            failures INTEGER NOT NULL DEFAULT 0,
            probe_owner TEXT,
            probe_until {real} NOT NULL DEFAULT 0,
            updated_at {real} NOT NULL DEFAULT 0
        );
        CREATE TABLE usage_daily (
            tenant TEXT NOT NULL,
            day TEXT NOT NULL,
            model TEXT NOT NULL,
            requests {bigint} NOT NULL DEFAULT 0,
            judge_calls {bigint} NOT NULL DEFAULT 0,
            prompt_tokens {bigint} NOT NULL DEFAULT 0,
            completion_tokens {bigint} NOT NULL DEFAULT 0,
            cache_hits {bigint} NOT NULL DEFAULT 0,
            batch_lines {bigint} NOT NULL DEFAULT 0,
            cost {real} NOT NULL DEFAULT 0,
            PRIMARY KEY (tenant, day, model)
        );
        CREATE INDEX usage_by_day ON usage_daily (day);
        CREATE TABLE node_leases (
            name TEXT PRIMARY KEY,
            owner TEXT,
            until {real} NOT NULL DEFAULT 0
        );
        ALTER TABLE batch_requests ADD COLUMN tenant TEXT NOT NULL DEFAULT '';
        ALTER TABLE batch_requests ADD COLUMN fair_tag {real} NOT NULL DEFAULT 0;
        DROP INDEX batch_requests_claim;
        CREATE INDEX batch_requests_fair_claim ON batch_requests (model, state, fair_tag, batch_seq, line)
        """,
    ),
    Migration(
        "0004_account_files",
        # an account's stored bytes (its sub-tenants' too) as one index range: store.tenant_load
        """
        CREATE INDEX files_by_account ON files (tenant{bytewise}, bytes)
        """,
    ),
    Migration(
        "0005_fair_flows",
        """
        CREATE TABLE fair_flows (
            batch_id TEXT NOT NULL,
            model TEXT NOT NULL,
            account TEXT NOT NULL,
            stride {real},
            PRIMARY KEY (batch_id, model)
        );
        CREATE INDEX fair_flows_by_account ON fair_flows (account)
        """,
    ),
    Migration(
        "0006_sweep",
        """
        ALTER TABLE file_chunks ADD COLUMN written_at {real} NOT NULL DEFAULT 0;
        CREATE INDEX files_by_expiry ON files (expires_at)
        """,
    ),
    Migration(
        "0007_labels",
        """
        CREATE TABLE batch_labels (
            tenant TEXT NOT NULL,
            batch_id TEXT NOT NULL,
            custom_id TEXT NOT NULL,
            annotator TEXT NOT NULL,
            label TEXT NOT NULL,
            note TEXT,
            created_at {bigint} NOT NULL,
            PRIMARY KEY (batch_id, custom_id, annotator)
        );
        CREATE INDEX batch_labels_by_batch ON batch_labels (tenant, batch_id)
        """,
    ),
    Migration(
        "0008_calibrations",
        """
        CREATE TABLE calibrations (
            id TEXT PRIMARY KEY,
            tenant TEXT NOT NULL,
            model TEXT NOT NULL,
            mode TEXT NOT NULL,
            version INTEGER NOT NULL,
            source TEXT NOT NULL,
            batches TEXT NOT NULL,
            calibrator TEXT NOT NULL,
            points TEXT NOT NULL,
            created_at {bigint} NOT NULL,
            UNIQUE (tenant, model, mode, version)
        )
        """,
    ),
    Migration(
        "0009_console_sessions",
        """
        CREATE TABLE console_sessions (
            id TEXT PRIMARY KEY,
            key_digest TEXT NOT NULL,
            on_behalf_of TEXT,
            admin INTEGER NOT NULL,
            csrf TEXT NOT NULL,
            created_at {bigint} NOT NULL,
            expires_at {bigint} NOT NULL
        );
        CREATE INDEX console_sessions_by_expiry ON console_sessions (expires_at)
        """,
    ),
    Migration(
        "0010_calibration_undecided",
        """
        ALTER TABLE calibrations ADD COLUMN undecided INTEGER NOT NULL DEFAULT 0
        """,
    ),
    Migration(
        "0011_evals",
        """
        CREATE TABLE evals (
            seq {pk_seq},
            id TEXT NOT NULL UNIQUE,
            tenant TEXT NOT NULL,
            name TEXT NOT NULL,
            body TEXT NOT NULL,
            created_at {bigint} NOT NULL,
            updated_at {bigint} NOT NULL
        );
        CREATE INDEX evals_by_tenant ON evals (tenant, seq);
        CREATE TABLE eval_runs (
            seq {pk_seq},
            id TEXT NOT NULL UNIQUE,
            tenant TEXT NOT NULL,
            eval_id TEXT NOT NULL,
            name TEXT NOT NULL,
            status TEXT NOT NULL,
            batch_id TEXT,
            body TEXT NOT NULL,
            content TEXT,
            error TEXT,
            created_at {bigint} NOT NULL,
            updated_at {bigint} NOT NULL
        );
        CREATE INDEX eval_runs_by_eval ON eval_runs (tenant, eval_id, seq);
        CREATE INDEX eval_runs_by_batch ON eval_runs (batch_id);
        CREATE TABLE eval_output_items (
            seq {pk_seq},
            id TEXT NOT NULL UNIQUE,
            tenant TEXT NOT NULL,
            run_id TEXT NOT NULL,
            item_index INTEGER NOT NULL,
            item_key TEXT NOT NULL,
            status TEXT NOT NULL,
            verdicts TEXT NOT NULL,
            scores TEXT NOT NULL,
            body TEXT NOT NULL,
            created_at {bigint} NOT NULL,
            UNIQUE (run_id, item_index)
        );
        CREATE INDEX eval_output_items_by_run ON eval_output_items (tenant, run_id, item_index);
        CREATE TABLE eval_run_usage (
            run_id TEXT NOT NULL,
            model TEXT NOT NULL,
            invocations {bigint} NOT NULL,
            prompt_tokens {bigint} NOT NULL,
            completion_tokens {bigint} NOT NULL,
            cached_tokens {bigint} NOT NULL,
            PRIMARY KEY (run_id, model)
        )
        """,
    ),
)

_APPLIED_TABLE = (
    "CREATE TABLE IF NOT EXISTS schema_migrations (name TEXT PRIMARY KEY, applied_at {bigint} NOT NULL)"
)


# PostgreSQL: nodes starting together on a new database would race on ``CREATE TABLE IF NOT EXISTS`` (two
# creations of one table type collide on a unique index): the bookkeeping table is made under this lock.
_MIGRATIONS_LOCK = 7_318_225_011


async def applied(db: Database) -> list[str]:
    async with db.transaction() as tx:
        if db.dialect == "postgresql":
            await tx.execute("SELECT pg_advisory_xact_lock(:k)", {"k": _MIGRATIONS_LOCK})
        await tx.execute(_APPLIED_TABLE.format(**_TYPES[db.dialect]))
        rows = await tx.fetchall("SELECT name FROM schema_migrations ORDER BY name")
    return [r["name"] for r in rows]


async def upgrade(db: Database, migrations: Sequence[Migration] = MIGRATIONS) -> list[str]:
    """Apply every pending migration, each in its own transaction; returns the names applied.
    Safe to run from several processes at once (the migration row is the lock). ``migrations`` is a
    prefix of ``MIGRATIONS`` only to build the database an older release left (tests)."""
    done = set(await applied(db))
    newly: list[str] = []
    for migration in migrations:
        if migration.name in done:
            continue
        async with db.transaction() as tx:
            if db.dialect == "postgresql":
                await tx.execute("LOCK TABLE schema_migrations IN EXCLUSIVE MODE")
            row = await tx.fetchone(
                "SELECT name FROM schema_migrations WHERE name = :n", {"n": migration.name}
            )
            if row is not None:
                continue
            for statement in migration.render(db.dialect):
                await tx.execute(statement)
            await tx.execute(
                "INSERT INTO schema_migrations (name, applied_at) VALUES (:n, :t)",
                {"n": migration.name, "t": int(time.time())},
            )
        newly.append(migration.name)
    return newly
