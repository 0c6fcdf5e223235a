"""Who is calling: an API key (compared by digest, in constant time) plus ``X-On-Behalf-Of``."""

from __future__ import annotations

import hmac
from dataclasses import dataclass, field

from jurist.errors import AuthenticationFailed
from jurist.store.keys import digest
from jurist.store.tenants import TenantPolicy

_BEARER = "bearer "


@dataclass(frozen=True)
class Tenant:
    """The owner of every object a request creates or reads: the key's tenant (``account``), or a
    sub-tenant of it named by ``X-On-Behalf-Of``, held to the account's ``policy``."""

    account: str
    on_behalf_of: str | None = None
    policy: TenantPolicy = field(default_factory=TenantPolicy)
    key_id: str = ""

    @property
    def id(self) -> str:
        return self.account if not self.on_behalf_of else f"{self.account}/{self.on_behalf_of}"


def extract_key(authorization: str | None) -> str | None:
    """The key from an ``Authorization`` header. Accepts the PAI SDK quirk, where the SDK was given
    ``api_key='Authorization: Bearer <key>'`` and so sends ``Bearer Authorization: Bearer <key>``."""
    if not authorization:
        return None
    value = authorization.strip()
    while True:
        lowered = value.lower()
        if lowered.startswith("authorization:"):
            value = value[len("authorization:") :].strip()
        elif lowered.startswith(_BEARER) or lowered == _BEARER.strip():
            value = value[len(_BEARER) :].strip()
        else:
            break
    return value or None


def is_admin(admin_key: str | None, authorization: str | None) -> bool:
    """Whether the ``Authorization`` header carries the admin key (compared in constant time)."""
    key = extract_key(authorization)
    if not admin_key or key is None:
        return False
    return hmac.compare_digest(digest(key).encode(), digest(admin_key).encode())


class Authenticator:
    def __init__(self, digests: list[str], policy: TenantPolicy | None = None) -> None:
        self._digests = [d.encode() for d in digests]
        self._policy = policy or TenantPolicy()  # every key's tenant is held to it (settings defaults)

    def authenticate(self, authorization: str | None, on_behalf_of: str | None = None) -> Tenant:
        key = extract_key(authorization)
        if key is None:
            raise AuthenticationFailed(
                "You didn't provide an API key. Send it as 'Authorization: Bearer <key>'."
            )
        presented = digest(key).encode()
        matched = b""
        for candidate in self._digests:  # no early exit: time does not depend on which key matched
            if hmac.compare_digest(presented, candidate):
                matched = candidate
        if not matched:
            shown = key[:6] + "…" if len(key) > 6 else "…"
            raise AuthenticationFailed(f"Incorrect API key provided: {shown}")
        behalf = (on_behalf_of or "").strip()[:256] or None
        return Tenant("key_" + matched.decode()[:16], behalf, self._policy)
