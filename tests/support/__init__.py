"""Test support, shared by the test modules (which never import one another): the services under test,
the app in process and a live server on a real socket, batch helpers, the stub upstream, a throwaway
PostgreSQL, OpenAPI validation, scripted verdicts and report lines, float results compared with a
tolerance (``floats``)."""
