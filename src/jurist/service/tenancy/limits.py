"""Per-tenant limits, held by the account (a sub-tenant named by ``X-On-Behalf-Of`` shares them):
requests and tokens per minute on chat completions, batches in progress, queued lines.

Rates live in ``store.rate_limits`` buckets (``tenant:<account>:rpm`` / ``:tpm``), shared exactly by
every API server on the database. A chat completion takes one request before it runs, checks that the
token bucket is not spent, and is charged its actual tokens (prompt + completion) when it ends. A tenant
with neither limit never touches a bucket: its requests cost no database round trip.

Refusals are ``TenantLimitExceeded`` (429, ``rate_limit_exceeded``) with ``Retry-After`` and OpenAI's
``x-ratelimit-*`` headers, which also go on every other chat response of a limited tenant."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

from jurist.errors import TenantLimitExceeded
from jurist.ids import Clock
from jurist.store.rate_limits import Allowance, RateBuckets
from jurist.store.tenant_load import TenantLoad, account_of
from jurist.store.tenants import TenantPolicy, TenantStore, effective

PERIOD = 60.0  # per minute
BACKLOG_RETRY_SECONDS = 60.0  # batches, queued lines, stored bytes: freed by the caller's own work
# The official SDKs honour it: a backlog is not worth re-sending the request a second later.
NO_SDK_RETRY = {"x-should-retry": "false"}


def duration(seconds: float) -> str:
    """A wait as OpenAI writes it in ``x-ratelimit-reset-*`` and its messages: ``120ms``, ``1.2s``,
    ``6m0s``, ``1h2m3s``."""
    ms = max(0, round(seconds * 1000))
    if ms == 0:
        return "0s"
    if ms < 1000:
        return f"{ms}ms"
    hours, rest = divmod(ms, 3_600_000)
    minutes, rest = divmod(rest, 60_000)
    secs = f"{rest / 1000:.3f}".rstrip("0").rstrip(".")
    if hours:
        return f"{hours}h{minutes}m{secs}s"
    return f"{minutes}m{secs}s" if minutes else f"{secs}s"


def _used(figures: Allowance, period: float) -> int:
    """Units the bucket holds (more than its limit when tokens put it in debt)."""
    return max(0, round(figures.reset_seconds * figures.limit / period))


def _trio(kind: str, figures: Allowance) -> dict[str, str]:
    return {
        f"x-ratelimit-limit-{kind}": str(figures.limit),
        f"x-ratelimit-remaining-{kind}": str(figures.remaining),
        f"x-ratelimit-reset-{kind}": duration(figures.reset_seconds),
    }


@dataclass
class Admission:
    """A chat completion let through: the figures its response reports, and what to charge it."""

    account: str
    policy: TenantPolicy
    requests: Allowance | None = None
    tokens: Allowance | None = None

    def headers(self) -> dict[str, str]:
        out: dict[str, str] = {}
        if self.requests is not None:
            out.update(_trio("requests", self.requests))
        if self.tokens is not None:
            out.update(_trio("tokens", self.tokens))
        return out


def bucket(account: str, kind: str) -> str:
    return f"tenant:{account}:{kind}"


class TenantLimiter:
    """Requests and tokens per minute of an account, on ``POST /v1/chat/completions``."""

    def __init__(self, buckets: RateBuckets, clock: Clock, period: float = PERIOD) -> None:
        self._buckets = buckets
        self._clock = clock
        self._period = period

    async def admit(self, account: str, policy: TenantPolicy) -> Admission | None:
        """Take one request (and check the tokens left) or raise ``TenantLimitExceeded``. None, with no
        database call, for a tenant without rate limits."""
        if policy.rpm is None and policy.tpm is None:
            return None
        now, period = self._clock.now(), self._period
        admission = Admission(account, policy)
        if policy.tpm is not None:
            admission.tokens = await self._buckets.peek(bucket(account, "tpm"), policy.tpm, now, period)
            if not admission.tokens.allowed:
                if policy.rpm is not None:
                    admission.requests = await self._buckets.peek(
                        bucket(account, "rpm"), policy.rpm, now, period
                    )
                raise self._refusal("tokens per minute", admission.tokens, None, admission)
        if policy.rpm is not None:
            admission.requests = await self._buckets.take(bucket(account, "rpm"), policy.rpm, 1, now, period)
            if not admission.requests.allowed:
                raise self._refusal("requests per minute", admission.requests, 1, admission)
        return admission

    async def charge(self, admission: Admission, tokens: int) -> None:
        """Charge a finished completion its tokens; the admission's figures become the bucket's."""
        tpm = admission.policy.tpm
        if tpm is None or tokens <= 0:
            return
        admission.tokens = await self._buckets.charge(
            bucket(admission.account, "tpm"), tpm, tokens, self._clock.now(), self._period
        )

    def _refusal(
        self, what: str, figures: Allowance, requested: int | None, admission: Admission
    ) -> TenantLimitExceeded:
        asked = f", Requested {requested}" if requested is not None else ""
        return TenantLimitExceeded(
            f"Rate limit reached for {what}: Limit {figures.limit}, Used {_used(figures, self._period)}"
            f"{asked}. Please try again in {duration(max(figures.retry_after, 0.001))}.",
            retry_after=figures.retry_after,
            headers=admission.headers(),
        )


class Policies(Protocol):
    async def policy(self, account: str) -> TenantPolicy:
        """The limits an account is held to."""
        ...


class StoredPolicies:
    """An account's policy as the tenants table holds it, over the server's defaults (accounts of
    static keys have no row: the defaults)."""

    def __init__(self, tenants: TenantStore, defaults: TenantPolicy) -> None:
        self._tenants = tenants
        self._defaults = defaults

    async def policy(self, account: str) -> TenantPolicy:
        own = await self._tenants.get(account)
        return effective(own.policy if own else None, self._defaults)


class BatchLimits:
    """Batches in progress and queued lines of an account: checked when a batch is created (429), and
    the queued lines again when its lines are known, at validation (the batch fails)."""

    def __init__(self, load: TenantLoad, policies: Policies) -> None:
        self.load = load
        self.policies = policies

    async def check_create(self, tenant: str, policy: TenantPolicy) -> None:
        account = account_of(tenant)
        if policy.max_batches is not None:
            active = await self.load.active_batches(account)
            if active >= policy.max_batches:
                raise _backlog(
                    f"Batch limit reached for tenant {account}: {active} of {policy.max_batches} batches "
                    "in progress (validating, in_progress, finalizing or cancelling). Please try again "
                    "once some of them have finished."
                )
        if policy.max_queued_lines is not None:
            queued = await self.load.queued_lines(account)
            if queued >= policy.max_queued_lines:
                raise _backlog(
                    f"Enqueued line limit reached for tenant {account}: {queued:,} of "
                    f"{policy.max_queued_lines:,} queued lines. Please try again once some in_progress "
                    "batches have been completed."
                )

    async def check_queue(self, tenant: str, lines: int) -> dict[str, Any] | None:
        """The batch error (OpenAI's enqueued-limit failure) when a batch of ``tenant`` with ``lines``
        lines would take its account past its queued lines; None when it fits."""
        account = account_of(tenant)
        limit = (await self.policies.policy(account)).max_queued_lines
        if limit is None:
            return None
        queued = await self.load.queued_lines(account)
        if queued + lines <= limit:
            return None
        return {
            "code": "queued_lines_limit_exceeded",
            "message": f"Enqueued line limit reached for tenant {account}. Limit: {limit:,} queued lines; "
            f"{queued:,} already queued and this batch has {lines:,}. Please try again once some "
            "in_progress batches have been completed.",
            "param": None,
            "line": None,
        }


def _backlog(message: str) -> TenantLimitExceeded:
    return TenantLimitExceeded(message, retry_after=BACKLOG_RETRY_SECONDS, headers=NO_SDK_RETRY)


def quota_exceeded(used: int, quota: int, incoming: int) -> TenantLimitExceeded:
    return _backlog(
        f"Storage quota exceeded: {used} of {quota} bytes used; this upload needs {incoming} more. "
        "Delete files you no longer need."
    )
