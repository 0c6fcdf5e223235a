"""The admin API's wire models: ``/v1/admin/keys`` and ``/v1/admin/tenants``.

Requests are strict (unknown fields, wrong types, and limits that make no sense are refused); a
limit set to ``null`` (or never set) is the server's default (``JURIST_DEFAULT_RPM`` …)."""

from __future__ import annotations

import re
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator
from pydantic_core import PydanticCustomError

TENANT_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}")
RESERVED_PREFIX = "key_"  # the accounts of the static keys (JURIST_API_KEYS, the key file)
_INT32 = 2**31 - 1
_INT64 = 2**63 - 1

Limit = Annotated[int, Field(ge=1, le=_INT32)]
Weight = Annotated[float, Field(gt=0, le=1_000_000, allow_inf_nan=False)]


def check_tenant_name(name: str) -> str:
    """``name`` if it may name a tenant; a validation error saying why not."""
    if not TENANT_NAME.fullmatch(name):
        raise PydanticCustomError(
            "tenant_name",
            "a tenant name is 1 to 64 letters, digits, '_', '.', ':' or '-', starting with a letter "
            "or a digit",
        )
    if name.startswith(RESERVED_PREFIX):
        raise PydanticCustomError(
            "tenant_name", "tenant names starting with 'key_' are reserved (the accounts of static keys)"
        )
    return name


class Limits(BaseModel):
    """A tenant's limits; ``None`` is the server's default."""

    model_config = ConfigDict(extra="forbid", strict=True)

    rpm: Limit | None = None  # chat completions per minute
    tpm: Limit | None = None  # tokens per minute
    max_batches: Limit | None = None  # batches in progress
    max_queued_lines: Limit | None = None  # batch lines waiting
    quota_bytes: Annotated[int, Field(ge=1, le=_INT64)] | None = None  # bytes of stored files


class KeyCreate(BaseModel):
    """``POST /v1/admin/keys``: a new key for ``tenant`` (created if new, its limits and weight set
    to those given)."""

    model_config = ConfigDict(extra="forbid", strict=True)

    name: Annotated[str, Field(min_length=1, max_length=256)]
    tenant: str
    limits: Limits | None = None
    weight: Weight | None = None

    @field_validator("tenant")
    @classmethod
    def _tenant(cls, value: str) -> str:
        return check_tenant_name(value)


class TenantUpdate(BaseModel):
    """``POST /v1/admin/tenants/{tenant}``: the limits given change, the others stay."""

    model_config = ConfigDict(extra="forbid", strict=True)

    limits: Limits | None = None
    weight: Weight | None = None


class ApiKeyObject(BaseModel):
    object: Literal["api_key"] = "api_key"
    id: str
    name: str
    tenant: str
    created_at: int
    last_used_at: int | None
    revoked_at: int | None
    weight: float  # the tenant's
    limits: Limits  # the tenant's own (null: the server's default)


class CreatedApiKey(ApiKeyObject):
    key: str  # the secret: in this response only, never stored


class ApiKeyList(BaseModel):
    object: Literal["list"] = "list"
    data: list[ApiKeyObject]
    has_more: bool = False


class ApiKeyDeleted(BaseModel):
    id: str
    object: Literal["api_key"] = "api_key"
    deleted: bool = True


class TenantObject(BaseModel):
    object: Literal["tenant"] = "tenant"
    id: str
    weight: float
    limits: Limits
    created_at: int
    updated_at: int


class TenantList(BaseModel):
    object: Literal["list"] = "list"
    data: list[TenantObject]
    has_more: bool = False
