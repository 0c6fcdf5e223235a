"""Tenants and their policy: the fair share of the batch runner and the limits a tenant is held to.

A tenant is the owner of keys (``api_keys.tenant``) and of every object they create; a caller may act
for a sub-tenant with ``X-On-Behalf-Of``, which shares its tenant's limits. ``None`` is no limit."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class TenantPolicy:
    weight: float = 1.0
    rpm: int | None = None
    tpm: int | None = None
    max_batches: int | None = None
    max_queued_lines: int | None = None
    quota_bytes: int | None = None
