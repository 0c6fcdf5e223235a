"""Who is calling: an API key (compared by digest) plus ``X-On-Behalf-Of``.

Keys come from three places. ``JURIST_API_KEYS`` or the key file (the static keys: each its own
tenant, ``key_`` + 16 hex digits of its digest, held to the server's default policy) are checked
first, in constant time, with no I/O. Any other key is looked up in the database (``api_keys``) by its
digest, through a small in-process cache of ``key_cache_seconds`` that also keeps negative answers:
a key in use costs no database round trip per request, and a key revoked on any node stops working
everywhere within that time. The admin key (``JURIST_ADMIN_KEY``) is never a tenant."""

from __future__ import annotations

import asyncio
import hmac
import time
import unicodedata
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from enum import Enum

from jurist.errors import AuthenticationFailed, InvalidRequest, PermissionDenied
from jurist.ids import Clock, SystemClock
from jurist.settings import Settings
from jurist.store.keys import KeyStore, digest, key_id
from jurist.store.tenants import TenantPolicy, TenantStore, effective

_BEARER = "bearer "
TOUCH_EVERY = 60  # seconds: a key's last_used_at is written at most this often
CACHE_ENTRIES = 10_000  # answers kept at most (a flood of random keys cannot grow the cache past it)
BEHALF_HEADER = "X-On-Behalf-Of"
MAX_BEHALF = 256  # characters of a sub-tenant's name: a longer one is refused, never cut
_REFUSED_CATEGORIES = frozenset({"Cc", "Zl", "Zp"})  # control characters, line and paragraph separators


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


def sub_tenant(name: str | None) -> str | None:
    """The sub-tenant ``name`` designates, the same for the API's ``X-On-Behalf-Of`` and the console's
    "On behalf of": the name without surrounding whitespace, or None (none, or only whitespace: the
    account itself). A name of more than ``MAX_BEHALF`` characters, or with a control character or a
    line break anywhere, is a 400 naming the header: an identity is never cut or cleaned up."""
    if name is None:
        return None
    found = name.strip(" \t")  # HTTP's optional whitespace (a header's value arrives without it)
    if any(unicodedata.category(ch) in _REFUSED_CATEGORIES for ch in found):
        raise InvalidRequest(
            f"Invalid '{BEHALF_HEADER}': a sub-tenant's name cannot hold control characters or line breaks.",
            param=BEHALF_HEADER,
        )
    found = found.strip()
    if len(found) > MAX_BEHALF:
        raise InvalidRequest(
            f"Invalid '{BEHALF_HEADER}': a sub-tenant's name is at most {MAX_BEHALF} characters, "
            f"got {len(found)}.",
            param=BEHALF_HEADER,
        )
    return found or None


def behalf_header(values: Sequence[str]) -> str | None:
    """The sub-tenant named by the ``X-On-Behalf-Of`` header(s) of a request, as ``sub_tenant``.

    HTTP header values are bytes; Starlette hands them over decoded as latin-1, so the bytes are taken
    back and decoded as UTF-8, what the console's form (and any UTF-8 client) sends: one name is one
    tenant, whichever way it came. Bytes that are not UTF-8, or the header given more than once, are a
    400 naming the header."""
    if not values:
        return None
    if len(values) > 1:
        raise InvalidRequest(f"Send '{BEHALF_HEADER}' at most once.", param=BEHALF_HEADER)
    try:
        name = values[0].encode("latin-1").decode("utf-8")
    except UnicodeError:
        raise InvalidRequest(
            f"Invalid '{BEHALF_HEADER}': the sub-tenant's name must be UTF-8.", param=BEHALF_HEADER
        ) from None
    return sub_tenant(name)


def default_policy(settings: Settings) -> TenantPolicy:
    """The policy of a tenant with no limits of its own: the server's defaults."""
    return TenantPolicy(
        weight=settings.default_weight,
        rpm=settings.default_rpm,
        tpm=settings.default_tpm,
        max_batches=settings.default_max_batches,
        max_queued_lines=settings.default_max_queued_lines,
        quota_bytes=settings.tenant_quota_bytes,
    )


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


@dataclass(frozen=True)
class _Known:
    """A key's answer without the request's ``X-On-Behalf-Of``."""

    account: str
    key_id: str
    policy: TenantPolicy


class _Refused(Enum):
    UNKNOWN = "unknown"
    REVOKED = "revoked"


_Answer = _Known | _Refused


class Authenticator:
    """``await authenticate(authorization, on_behalf_of)`` → the caller's ``Tenant``, or 401/403.

    ``digests``: the static keys' digests. ``keys`` / ``tenants``: the database's keys and tenants
    (without them, only static keys exist). ``monotonic`` times the cache; ``clock`` dates uses."""

    def __init__(
        self,
        digests: Iterable[str],
        keys: KeyStore | None = None,
        tenants: TenantStore | None = None,
        *,
        defaults: TenantPolicy | None = None,
        admin_key: str | None = None,
        cache_seconds: float = 1.0,
        clock: Clock | None = None,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._defaults = defaults or TenantPolicy()
        self._static = [(d.encode(), _Known(key_id(d), "", self._defaults)) for d in digests]
        self._admin = digest(admin_key).encode() if admin_key else None
        self._keys = keys
        self._tenants = tenants
        self._ttl = cache_seconds
        self._clock: Clock = clock or SystemClock()
        self._monotonic = monotonic
        self._cache: dict[str, tuple[float, _Answer]] = {}
        self._inflight: dict[str, asyncio.Future[_Answer]] = {}
        self._generation = 0  # moved by forget(): a lookup begun before it is not cached

    async def authenticate(self, authorization: str | None, on_behalf_of: str | None = None) -> Tenant:
        """``on_behalf_of``: the sub-tenant's name, as text (``behalf_header`` reads it from a request);
        a name ``sub_tenant`` refuses is a 400."""
        key = extract_key(authorization)
        if key is None:
            raise AuthenticationFailed(
                "You didn't provide an API key. Send it as 'Authorization: Bearer <key>'."
            )
        shown = key[:6] + "…" if len(key) > 6 else "…"
        return await self.authenticate_digest(digest(key), on_behalf_of, shown)

    def is_admin_digest(self, key_digest: str) -> bool:
        """Whether a key's digest is the admin key's (compared in constant time)."""
        return self._admin is not None and hmac.compare_digest(key_digest.encode(), self._admin)

    async def authenticate_digest(
        self, presented: str, on_behalf_of: str | None = None, shown: str = "…"
    ) -> Tenant:
        """As ``authenticate``, from the key's digest (a console session keeps the digest, never the
        key): a key revoked since is refused as it would be in a header. ``shown``: the key's first
        characters, for the message."""
        encoded = presented.encode()
        if self._admin is not None and hmac.compare_digest(encoded, self._admin):
            raise PermissionDenied(
                "The admin key (JURIST_ADMIN_KEY) only manages keys and tenants (/v1/admin/…); "
                "call this endpoint with a tenant's key."
            )
        known: _Known | None = None
        for candidate, static in self._static:  # no early exit: time does not depend on which matched
            if hmac.compare_digest(encoded, candidate):
                known = static
        if known is None:
            answer = await self._answer(presented)
            if not isinstance(answer, _Known):
                if answer is _Refused.REVOKED:
                    raise AuthenticationFailed(f"The API key {shown} has been revoked.")
                raise AuthenticationFailed(f"Incorrect API key provided: {shown}")
            known = answer
        return Tenant(known.account, sub_tenant(on_behalf_of), known.policy, known.key_id)

    def forget(self) -> None:
        """Drop every cached answer (this node's keys or tenants changed)."""
        self._cache.clear()
        self._inflight.clear()  # a lookup under way read the old rows: later callers do not wait for it
        self._generation += 1

    async def _answer(self, key_digest: str) -> _Answer:
        cached = self._cache.get(key_digest)
        if cached is not None and cached[0] > self._monotonic():
            return cached[1]
        pending = self._inflight.get(key_digest)
        if pending is None:  # one lookup per key at a time, however many requests wait for it
            pending = asyncio.ensure_future(self._look_up(key_digest))
            self._inflight[key_digest] = pending
            pending.add_done_callback(lambda done: self._settled(key_digest, done))
        return await asyncio.shield(pending)

    def _settled(self, key_digest: str, done: asyncio.Future[_Answer]) -> None:
        if self._inflight.get(key_digest) is done:
            del self._inflight[key_digest]
        if not done.cancelled():
            done.exception()  # retrieved here: a failure reaches every waiter, and is never cached

    async def _look_up(self, key_digest: str) -> _Answer:
        generation = self._generation
        answer = await self._read(key_digest)
        if generation == self._generation:
            self._remember(key_digest, answer)
        return answer

    async def _read(self, key_digest: str) -> _Answer:
        """The database's answer; a use of a valid key is recorded if none was this minute."""
        record = await self._keys.find(key_digest, revoked=True) if self._keys else None
        if record is None or self._keys is None:
            return _Refused.UNKNOWN
        if record.revoked_at is not None:
            return _Refused.REVOKED
        own = await self._tenants.get(record.tenant) if self._tenants else None
        now = int(self._clock.now())
        if record.last_used_at is None or now - record.last_used_at >= TOUCH_EVERY:
            await self._keys.touch(record.id, now, TOUCH_EVERY)
        return _Known(record.tenant, record.id, effective(own.policy if own else None, self._defaults))

    def _remember(self, key_digest: str, answer: _Answer) -> None:
        now = self._monotonic()
        if len(self._cache) >= CACHE_ENTRIES:
            self._cache = {d: entry for d, entry in self._cache.items() if entry[0] > now}
            if len(self._cache) >= CACHE_ENTRIES:
                self._cache.clear()
        self._cache[key_digest] = (now + self._ttl, answer)
