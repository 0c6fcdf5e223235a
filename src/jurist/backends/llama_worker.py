"""The embedded model's own process (as vLLM runs its engine core): ``python -m jurist.backends.llama_worker
FD`` loads the model named by the first frame on the socket FD, decodes a few tokens as a self-test, says
``ready``, then serves generate / cancel frames (``engine_wire``) until the server closes the socket.

Whatever kills this process (a segfault in a llama.cpp kernel, ``GGML_ASSERT`` → ``abort()``, the OOM
killer) kills only the model: the server (``llama_process``) answers its requests with a 503 and starts a
new one. When the server dies, the socket closes and this process exits.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import sys
from collections.abc import Callable
from pathlib import Path

from jurist.backends.base import GenerationRequest
from jurist.backends.engine_wire import (
    error_to_wire,
    frame,
    generation_to_wire,
    read_frame,
    request_from_wire,
)
from jurist.backends.llama_cpp import LlamaCppBackend, system_info
from jurist.errors import JuristError
from jurist.protocol.json_types import JSONObject
from jurist.settings import LlamaCppModelConfig


class Worker:
    """One loaded model serving the server's frames."""

    def __init__(self, backend: LlamaCppBackend, writer: asyncio.StreamWriter) -> None:
        self._backend = backend
        self._writer = writer
        self._running: dict[int, asyncio.Task[None]] = {}

    def send(self, message: JSONObject) -> None:
        self._writer.write(frame(message))

    async def serve(self, reader: asyncio.StreamReader) -> None:
        while (message := await read_frame(reader)) is not None:
            op, rid = message.get("op"), message.get("id")
            if not isinstance(rid, int):
                continue
            if op == "generate":
                request = message.get("request")
                if isinstance(request, dict):
                    task = asyncio.create_task(
                        self._run(rid, request_from_wire(request), bool(message.get("stream")))
                    )
                    self._running[rid] = task
                    task.add_done_callback(self._forget(rid))
            elif op == "cancel" and (running := self._running.get(rid)) is not None:
                running.cancel()
        for task in list(self._running.values()):  # the server has gone: nobody waits for these
            task.cancel()

    def _forget(self, rid: int) -> Callable[[asyncio.Task[None]], None]:
        def forget(_task: asyncio.Task[None]) -> None:
            self._running.pop(rid, None)

        return forget

    async def _run(self, rid: int, request: GenerationRequest, stream: bool) -> None:
        backend = self._backend
        try:
            if stream:
                final: JSONObject = {"text": ""}
                async for chunk in backend.stream(request):
                    if chunk.text:
                        self.send({"id": rid, "piece": chunk.text})
                    if chunk.finish_reason is not None:
                        final = {
                            "text": "",
                            "finish_reason": chunk.finish_reason,
                            "prompt_tokens": chunk.prompt_tokens or 0,
                            "completion_tokens": chunk.completion_tokens or 0,
                        }
                self.send({"id": rid, "result": final, "stats": dict(backend.prompt_stats())})
            else:
                generation = await backend.generate(request)
                self.send(
                    {
                        "id": rid,
                        "result": generation_to_wire(generation),
                        "stats": dict(backend.prompt_stats()),
                    }
                )
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # every failure is the caller's answer, typed on the wire
            self.send({"id": rid, "error": error_to_wire(exc), "stats": dict(backend.prompt_stats())})
        await self._writer.drain()


def _load_message(message: JSONObject | None) -> tuple[LlamaCppModelConfig, Path, bool]:
    if message is None or message.get("op") != "load":
        raise SystemExit("llama_worker: the server sent no model to load")
    config = LlamaCppModelConfig.model_validate(message["config"])
    return config, Path(str(message["model_path"])), bool(message.get("extra_bufts", True))


async def main(fd: int) -> int:
    sock = socket.socket(fileno=fd)
    reader, writer = await asyncio.open_unix_connection(sock=sock)
    config, path, extra_bufts = _load_message(await read_frame(reader))
    backend = LlamaCppBackend(config, path, extra_bufts)
    try:
        await backend.start()
        tested = await backend.self_test()
    except JuristError as exc:
        writer.write(frame({"op": "failed", "error": error_to_wire(exc)}))
        await writer.drain()
        return 1
    info: JSONObject = {
        "pid": os.getpid(),
        "extra_bufts": extra_bufts,
        "threads": backend.threads,
        "system_info": system_info(),
        "self_test": {"text": tested.text, "completion_tokens": tested.completion_tokens},
        "stats": dict(backend.prompt_stats()),
    }
    writer.write(frame({"op": "ready", "info": info}))
    await writer.drain()
    try:
        await Worker(backend, writer).serve(reader)
    finally:
        await backend.aclose()
        with contextlib.suppress(ConnectionError):
            writer.close()
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main(int(sys.argv[1]))))
