"""Test support: a live Jurist server on a real socket, the stub upstream, OpenAPI validation."""
