"""OpenAI wire models (pydantic), no I/O."""
