"""One embedded model process, seen from the server: started with its model, self-tested, then a channel
of requests (``engine_wire`` frames) until it dies or is closed. ``llama_process`` supervises a sequence
of these. When the process dies every request it held fails with ``ModelUnavailable`` at once (never a
request left waiting, never a dropped connection), and ``on_death`` hears the cause."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import signal
import socket
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass

from jurist.backends.base import Generation, GenerationChunk, GenerationRequest
from jurist.backends.engine_wire import (
    WireError,
    error_from_wire,
    frame,
    generation_from_wire,
    read_frame,
    request_to_wire,
)
from jurist.errors import BackendError, ConfigError, JuristError, ModelUnavailable
from jurist.protocol.json_types import JSONObject

log = logging.getLogger("jurist.engine")
EXIT_WAIT_SECONDS = 5.0  # a closed process that has not exited by then is killed


class Died(Exception):
    """The model process ended before it was ready (its load or self-test crashed)."""

    def __init__(self, cause: str) -> None:
        super().__init__(cause)
        self.cause = cause


def death_cause(returncode: int | None) -> str:
    """``SIGSEGV`` for a process killed by a signal, ``exit N`` for one that exited."""
    if returncode is None:
        return "unknown"
    if returncode < 0:
        try:
            return signal.Signals(-returncode).name
        except ValueError:
            return f"signal {-returncode}"
    return f"exit {returncode}"


@dataclass
class _Call:
    """A request in the process: a future for a whole answer, or a queue for a stream's frames."""

    future: asyncio.Future[JSONObject] | None = None
    frames: asyncio.Queue[JSONObject | BaseException] | None = None

    def fail(self, error: BaseException) -> None:
        if self.future is not None and not self.future.done():
            self.future.set_exception(error)
        if self.frames is not None:
            self.frames.put_nowait(error)


class EngineProcess:
    """A running model process. Use ``launch`` to make one."""

    def __init__(
        self,
        proc: asyncio.subprocess.Process,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        info: JSONObject,
        unavailable: Callable[[str], ModelUnavailable],
    ) -> None:
        self.proc, self.info = proc, info
        self._reader, self._writer = reader, writer
        self._unavailable = unavailable  # the error an in-flight request gets when the process dies
        self._calls: dict[int, _Call] = {}
        self._ids = itertools.count(1)
        self.stats: dict[str, int] = _stats(info.get("stats"))
        self.cause: str | None = None  # set when it has died
        self._closing = False
        self.on_death: Callable[[EngineProcess, str], None] | None = None
        self._pump = asyncio.create_task(self._read())

    @classmethod
    async def launch(
        cls, load: dict[str, object], python: str, wait: float, unavailable: Callable[[str], ModelUnavailable]
    ) -> EngineProcess:
        """Start a process, load the model and wait for its self-test. Raises ``Died`` when the process
        dies first, the model's own error (``ConfigError``…) when it refuses to load."""
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            proc = await asyncio.create_subprocess_exec(
                python, "-m", "jurist.backends.llama_worker", str(theirs.fileno()),
                pass_fds=(theirs.fileno(),), stdin=asyncio.subprocess.DEVNULL,
                start_new_session=True,  # a Ctrl-C at the terminal reaches the server, which closes it
            )  # fmt: skip
        finally:
            theirs.close()
        reader, writer = await asyncio.open_unix_connection(sock=ours)
        try:
            writer.write(frame(load))
            answer = await asyncio.wait_for(read_frame(reader), wait)
        except (TimeoutError, WireError, ConnectionError) as exc:
            await _end(proc, writer)
            if isinstance(exc, TimeoutError):
                raise ConfigError(f"the embedded model did not start within {wait:.0f} s") from exc
            raise Died(death_cause(proc.returncode)) from exc
        if answer is None:  # the process died while loading or testing
            await _end(proc, writer)
            raise Died(death_cause(proc.returncode))
        if answer.get("op") != "ready":
            await _end(proc, writer)
            error = answer.get("error")
            raise error_from_wire(error) if isinstance(error, dict) else BackendError(str(answer))
        info = answer.get("info")
        return cls(proc, reader, writer, info if isinstance(info, dict) else {}, unavailable)

    @property
    def pid(self) -> int:
        return self.proc.pid

    @property
    def in_flight(self) -> int:
        """Requests the process holds now."""
        return len(self._calls)

    @property
    def alive(self) -> bool:
        return self.cause is None and not self._closing

    async def generate(self, request: GenerationRequest) -> Generation:
        call = _Call(future=asyncio.get_running_loop().create_future())
        rid = self._send(call, request, stream=False)
        try:
            answer = await call.future  # type: ignore[misc]
        except asyncio.CancelledError:
            self._cancel(rid)
            raise
        finally:
            self._calls.pop(rid, None)
        return _outcome(answer)

    async def stream(self, request: GenerationRequest) -> AsyncIterator[GenerationChunk]:
        call = _Call(frames=asyncio.Queue())
        rid = self._send(call, request, stream=True)
        finished = False
        try:
            while True:
                message = await call.frames.get()  # type: ignore[union-attr]
                if isinstance(message, BaseException):
                    raise message
                if "piece" in message:
                    yield GenerationChunk(text=str(message["piece"]))
                    continue
                finished = True
                final = _outcome(message)
                yield GenerationChunk(
                    finish_reason=final.finish_reason,
                    prompt_tokens=final.prompt_tokens,
                    completion_tokens=final.completion_tokens,
                )
                return
        finally:
            self._calls.pop(rid, None)
            if not finished:
                self._cancel(rid)

    def _send(self, call: _Call, request: GenerationRequest, stream: bool) -> int:
        if not self.alive:
            raise self._unavailable(self.cause or "closed")
        rid = next(self._ids)
        self._calls[rid] = call
        message = {"op": "generate", "id": rid, "stream": stream, "request": request_to_wire(request)}
        self._writer.write(frame(message))
        return rid

    def _cancel(self, rid: int) -> None:
        if self.alive:
            self._writer.write(frame({"op": "cancel", "id": rid}))

    async def _read(self) -> None:
        try:
            while (message := await read_frame(self._reader)) is not None:
                self._dispatch(message)
        except (WireError, ValueError) as exc:  # a broken peer: end it like a dead one
            log.error("the embedded model process %d sent a broken frame: %s", self.pid, exc)
            self.proc.kill()
        await self._ended()

    def _dispatch(self, message: JSONObject) -> None:
        if "stats" in message:
            self.stats = _stats(message["stats"])
        rid = message.get("id")
        call = self._calls.get(rid) if isinstance(rid, int) else None
        if call is None:  # a cancelled request's answer
            return
        if call.frames is not None:
            call.frames.put_nowait(message)
        elif call.future is not None and not call.future.done() and "piece" not in message:
            call.future.set_result(message)

    async def _ended(self) -> None:
        """The socket closed: the process has died (or is closing). Fail what it held, tell the supervisor."""
        try:
            returncode = await asyncio.wait_for(self.proc.wait(), EXIT_WAIT_SECONDS)
        except TimeoutError:  # alive but mute: end it
            self.proc.kill()
            returncode = await self.proc.wait()
        self.cause = death_cause(returncode)
        with contextlib.suppress(ConnectionError, RuntimeError):
            self._writer.close()
        if not self._closing and self.on_death is not None:
            self.on_death(self, self.cause)  # first: the supervisor decides whether it comes back
        if self._closing:
            error: JuristError = BackendError("the embedded model was shut down")
        else:
            error = self._unavailable(self.cause)
        for call in list(self._calls.values()):
            call.fail(error)
        self._calls.clear()

    async def close(self) -> None:
        """Close the socket (the process unloads the model and exits), then wait for it."""
        if self._closing:
            return
        self._closing = True
        with contextlib.suppress(ConnectionError, RuntimeError):
            self._writer.close()
        await _end(self.proc, None)
        with contextlib.suppress(asyncio.CancelledError):
            await self._pump


async def _end(proc: asyncio.subprocess.Process, writer: asyncio.StreamWriter | None) -> None:
    if writer is not None:
        with contextlib.suppress(ConnectionError, RuntimeError):
            writer.close()
    try:
        await asyncio.wait_for(proc.wait(), EXIT_WAIT_SECONDS)
    except TimeoutError:
        proc.kill()
        await proc.wait()


def _outcome(message: JSONObject) -> Generation:
    error = message.get("error")
    if isinstance(error, dict):
        raise error_from_wire(error)
    result = message.get("result")
    if not isinstance(result, dict):
        raise BackendError(f"the embedded model sent an unreadable answer: {str(message)[:200]}")
    return generation_from_wire(result)


def _stats(value: object) -> dict[str, int]:
    if not isinstance(value, dict):
        return {}
    return {str(k): int(v) for k, v in value.items() if isinstance(v, int)}
