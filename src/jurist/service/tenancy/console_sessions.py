"""Signing in to the web console with an API key: a session opened with a key's digest, looked up by the
SHA-256 of a random token (the cookie's value). Every page re-authenticates the key's digest, so a key
revoked since (or the admin key unset) ends its sessions within the key cache's seconds; sign-out deletes
the session. The admin key opens an admin session: usage of every tenant, and no tenant's objects."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass

from jurist.errors import AuthenticationFailed, InvalidRequest, PermissionDenied
from jurist.ids import Clock
from jurist.service.tenancy.auth import Authenticator, Tenant, extract_key
from jurist.store.console_sessions import SessionRecord, SessionStore
from jurist.store.keys import digest


def _token_digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True)
class ConsoleUser:
    """Who a console page is for: a tenant (``tenant``), or the admin (``tenant`` None)."""

    tenant: Tenant | None
    csrf: str

    @property
    def admin(self) -> bool:
        return self.tenant is None

    @property
    def name(self) -> str:
        return "admin" if self.tenant is None else self.tenant.id

    def csrf_ok(self, presented: str | None) -> bool:
        return presented is not None and hmac.compare_digest(presented.encode(), self.csrf.encode())


class ConsoleSessions:
    def __init__(self, store: SessionStore, auth: Authenticator, clock: Clock, hours: float = 12.0) -> None:
        self.store = store
        self.auth = auth
        self.clock = clock
        self.seconds = int(hours * 3600)

    async def sign_in(self, key: str, on_behalf_of: str | None = None) -> tuple[str, ConsoleUser]:
        """A new session's token (for the cookie) and its user; 401 for an unknown or revoked key, 400
        for an ``on_behalf_of`` the API's ``X-On-Behalf-Of`` would refuse (``auth.sub_tenant``)."""
        found = extract_key(f"Bearer {key.strip()}") if key.strip() else None
        if not found:
            raise AuthenticationFailed("Enter an API key.")
        key_digest = digest(found)
        behalf: str | None = None
        if self.auth.is_admin_digest(key_digest):
            tenant = None
        else:  # the name as the API's X-On-Behalf-Of would name it (400 for one the API refuses)
            tenant = await self.auth.authenticate_digest(key_digest, on_behalf_of, found[:6] + "…")
            behalf = tenant.on_behalf_of
        token = secrets.token_urlsafe(32)
        csrf = secrets.token_urlsafe(32)
        now = int(self.clock.now())
        await self.store.add(
            SessionRecord(
                _token_digest(token), key_digest, behalf, tenant is None, csrf, now, now + self.seconds
            )
        )
        return token, ConsoleUser(tenant, csrf)

    async def user(self, token: str | None) -> ConsoleUser | None:
        """The signed-in user of a session token, or None (no, expired or ended session, or a key that
        no longer opens it)."""
        if not token:
            return None
        session_id = _token_digest(token)
        record = await self.store.get(session_id, int(self.clock.now()))
        if record is None:
            return None
        if record.admin:
            if not self.auth.is_admin_digest(record.key_digest):
                await self.store.delete(session_id)
                return None
            return ConsoleUser(None, record.csrf)
        try:
            tenant = await self.auth.authenticate_digest(record.key_digest, record.on_behalf_of)
        except (AuthenticationFailed, PermissionDenied, InvalidRequest):  # or a name no longer accepted
            await self.store.delete(session_id)
            return None
        return ConsoleUser(tenant, record.csrf)

    async def sign_out(self, token: str | None) -> None:
        if token:
            await self.store.delete(_token_digest(token))
