"""The HTTP edge: thin Starlette routes, auth, and the one place errors become the envelope."""

from jurist.api.app import create_app

__all__ = ["create_app"]
