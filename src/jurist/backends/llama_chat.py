"""Chat messages to one prompt string for the batching engine, for any GGUF: a named chat format of
llama-cpp-python (``gemma``, ``chatml``, ``llama-2``, ``llama-3``, ``mistral-instruct``, ``qwen``, ...),
or, without one, the chat template the GGUF carries (``tokenizer.chat_template``), as llama-cpp-python's
``Llama`` chooses (and like it, Llama 2's format when the GGUF has no template). The engine tokenizes
the prompt with a leading BOS token, so a template's own ``bos_token`` at the start is dropped."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, cast

from llama_cpp import llama_chat_format as F

from jurist.errors import ConfigError

Renderer = Callable[[list[dict[str, str]]], str]


def _named(chat_format: str) -> Callable[..., Any] | None:
    for name in (chat_format.replace("-", "_"), chat_format.replace("-", "")):
        formatter: Callable[..., Any] | None = getattr(F, f"format_{name}", None)
        if callable(formatter):
            return formatter
    return None


def _piece(model: Any, token: int) -> str:
    if token < 0:
        return ""
    text: str = model.token_get_text(token)
    return text


def prompt_renderer(chat_format: str | None, model: Any) -> Renderer:
    """``model``: llama-cpp-python's LlamaModel (for the GGUF's template and special tokens)."""
    bos = _piece(model, model.token_bos())
    formatter: Callable[..., Any]
    if chat_format is not None:
        named = _named(chat_format)
        if named is None:
            raise ConfigError(f"chat_format {chat_format!r} is not a chat format llama-cpp-python knows")
        formatter = named
    else:
        template = model.metadata().get("tokenizer.chat_template")
        if not template:  # as llama-cpp-python's Llama: Llama 2's format
            return prompt_renderer("llama-2", model)
        formatter = F.Jinja2ChatFormatter(
            template=template, eos_token=_piece(model, model.token_eos()), bos_token=bos
        )

    def render(messages: list[dict[str, str]]) -> str:
        prompt: str = formatter(messages=cast(Any, messages)).prompt
        if bos and prompt.startswith(bos):
            prompt = prompt[len(bos) :]
        return prompt

    return render
