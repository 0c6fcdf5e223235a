"""The engine's prompt from a GGUF's own chat template (the bundled GGUF carries none; the named
formats and the fallback run on the real model in tests/api/test_embedded_engine.py)."""

from __future__ import annotations

from typing import Any

import pytest

from jurist.backends.llama_chat import prompt_renderer
from jurist.errors import ConfigError

GEMMA_TEMPLATE = (
    "{{ bos_token }}{% for m in messages %}<start_of_turn>"
    "{{ 'model' if m['role'] == 'assistant' else m['role'] }}\n{{ m['content'] }}<end_of_turn>\n"
    "{% endfor %}{% if add_generation_prompt %}<start_of_turn>model\n{% endif %}"
)


class Vocabulary:
    """What prompt_renderer reads of a loaded model: its metadata and special tokens."""

    def __init__(self, template: str | None) -> None:
        self._metadata = {"tokenizer.chat_template": template} if template else {}

    def metadata(self) -> dict[str, Any]:
        return self._metadata

    def token_bos(self) -> int:
        return 2

    def token_eos(self) -> int:
        return 1

    def token_get_text(self, token: int) -> str:
        return {1: "<eos>", 2: "<bos>"}[token]


def test_the_ggufs_template_renders_without_a_second_bos() -> None:
    render = prompt_renderer(None, Vocabulary(GEMMA_TEMPLATE))
    prompt = render([{"role": "user", "content": "Judge this."}])
    assert prompt == "<start_of_turn>user\nJudge this.<end_of_turn>\n<start_of_turn>model\n"


def test_named_formats_and_the_fallback() -> None:
    messages = [{"role": "system", "content": "Be fair."}, {"role": "user", "content": "Judge this."}]
    chatml = prompt_renderer("chatml", Vocabulary(None))(messages)
    assert chatml.startswith("<|im_start|>system\nBe fair.") and chatml.endswith("<|im_start|>assistant\n")
    assert prompt_renderer(None, Vocabulary(None))(messages).endswith("[/INST]")  # Llama 2, as Llama does
    with pytest.raises(ConfigError, match="'vicuna-9'"):
        prompt_renderer("vicuna-9", Vocabulary(None))
