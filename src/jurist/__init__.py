"""Jurist: a self-hostable LLM-as-a-Judge service with an OpenAI-compatible API."""

__version__ = "0.1.0"

__all__ = ["__version__"]
