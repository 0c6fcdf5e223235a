"""The one error tree of Jurist. Every error maps to the OpenAI error envelope.

    JuristError                      500 server_error
    ├── ConfigError                  500 (bad configuration; raised at start-up)
    ├── InvalidRequest               400 invalid_request_error (code given: integer_above_max_value…)
    │   ├── InvalidJSON              400 code=invalid_json
    │   ├── PayloadTooLarge          413 code=payload_too_large
    │   └── MethodNotAllowed         405
    ├── AuthenticationFailed         401 code=invalid_api_key
    ├── PermissionDenied             403 code=insufficient_permissions (e.g. a tenant key on /v1/admin)
    ├── NotFound                     404 invalid_request_error
    │   └── ModelNotFound            404 code=model_not_found
    ├── RateLimited                  429 code=rate_limit_exceeded (carries retry_after, headers)
    │   └── TenantLimitExceeded      429 a limit of the caller's own tenant (rpm, tpm, batches, …)
    ├── BackendError                 502 code=upstream_error (carries retryable)
    │   ├── BackendTimeout           504 code=upstream_timeout
    │   ├── BackendUnavailable       502 code=upstream_unavailable
    │   │   ├── UpstreamPaused       503 code=upstream_paused (the model is paused or its circuit
    │   │   │                            is open on every node; carries retry_after)
    │   │   └── ModelUnavailable     503 code=model_unavailable (the embedded model's process died and
    │   │                                is restarting, or it failed; carries retry_after)
    │   └── BackendRejected          400 code=upstream_rejected (the upstream refused our input)
    ├── OffloadFailed                503 code=offload_failed (the process that runs CPU-bound work
    │                                    died during this request; it is started again)
    └── StoreError                   500 code=store_error (raised by store/, on SQLite and PostgreSQL)
        └── Conflict                 500 code=conflict (a unique key is taken; the services resolve it,
                                         so one that reaches a client is a server fault)

Each class carries ``status_code``, ``type`` and ``code``; ``param`` names the offending request
field when there is one. The default message is the class docstring. An error is raised complete:
``code`` (and, for an HTTP status passed through, ``status_code``) is given to the constructor, never
set afterwards.
"""

from __future__ import annotations


class JuristError(Exception):
    """Internal server error."""

    status_code = 500
    type = "server_error"
    code: str | None = None

    def __init__(
        self,
        message: str | None = None,
        *,
        param: str | None = None,
        code: str | None = None,
        status_code: int | None = None,
    ) -> None:
        self.message = message or (self.__doc__ or "").strip().splitlines()[0]
        self.param = param
        if code is not None:
            self.code = code
        if status_code is not None:
            self.status_code = status_code
        super().__init__(self.message)

    def to_envelope(self) -> dict[str, dict[str, str | None]]:
        return {
            "error": {
                "message": self.message,
                "type": self.type,
                "param": self.param,
                "code": self.code,
            }
        }


class ConfigError(JuristError):
    """The configuration is invalid."""

    code = "config_error"


class InvalidRequest(JuristError):
    """The request is invalid."""

    status_code = 400
    type = "invalid_request_error"


class InvalidJSON(InvalidRequest):
    """The request body is not valid JSON."""

    code = "invalid_json"


class PayloadTooLarge(InvalidRequest):
    """The request body is too large."""

    status_code = 413
    code = "payload_too_large"


class MethodNotAllowed(InvalidRequest):
    """The method is not allowed on this route."""

    status_code = 405


class AuthenticationFailed(JuristError):
    """Incorrect API key provided."""

    status_code = 401
    type = "invalid_request_error"
    code = "invalid_api_key"


class PermissionDenied(JuristError):
    """You have insufficient permissions for this operation."""

    status_code = 403
    type = "invalid_request_error"
    code = "insufficient_permissions"


class NotFound(JuristError):
    """The requested object does not exist."""

    status_code = 404
    type = "invalid_request_error"


class ModelNotFound(NotFound):
    """The model does not exist."""

    code = "model_not_found"


class RateLimited(JuristError):
    """Rate limit reached; retry later."""

    status_code = 429
    type = "rate_limit_error"
    code = "rate_limit_exceeded"

    def __init__(
        self,
        message: str | None = None,
        *,
        retry_after: float | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.retry_after = retry_after
        self.headers = dict(headers or {})  # sent with the 429 (e.g. OpenAI's x-ratelimit-*)


class TenantLimitExceeded(RateLimited):
    """Rate limit reached for your tenant; retry later."""


class BackendError(JuristError):
    """The judge model's backend failed."""

    status_code = 502
    type = "server_error"
    code = "upstream_error"
    retryable = True


class BackendTimeout(BackendError):
    """The judge model's backend timed out."""

    status_code = 504
    code = "upstream_timeout"


class BackendUnavailable(BackendError):
    """The judge model's backend could not be reached."""

    code = "upstream_unavailable"


class UpstreamPaused(BackendUnavailable):
    """The judge model's upstream is paused; retry later."""

    status_code = 503
    code = "upstream_paused"

    def __init__(self, message: str | None = None, *, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class ModelUnavailable(BackendUnavailable):
    """The judge model is not running; retry later."""

    status_code = 503
    code = "model_unavailable"

    def __init__(self, message: str | None = None, *, retry_after: float, restarting: bool = True) -> None:
        super().__init__(message)
        self.retry_after = retry_after
        # restarting: the model comes back by itself (a batch line gets its attempt back); False: it
        # failed (a crash loop) and stays down until the server restarts
        self.restarting = restarting


class OffloadFailed(JuristError):
    """A worker process died while handling this request; try it again."""

    status_code = 503
    code = "offload_failed"


class BackendRejected(BackendError):
    """The judge model's backend rejected the request."""

    status_code = 400
    type = "invalid_request_error"
    code = "upstream_rejected"
    retryable = False


class StoreError(JuristError):
    """The database refused an operation."""

    code = "store_error"


class Conflict(StoreError):
    """A row with the same unique key already exists."""

    code = "conflict"
