"""Read timeouts for uvicorn's HTTP/1.1 protocols, which have none of their own (only the keep-alive
timeout between requests): a slow client ("slow loris") would otherwise hold a connection, and the
request task waiting for its body, forever.

- headers: a request's line and headers must arrive within ``read_timeout`` seconds of the connection
  opening (or of the request's first byte on a kept-alive connection). A fixed deadline, not an idle
  timer: a byte every few seconds does not keep it alive.
- body: while the server waits for the body, ``read_timeout`` seconds may pass between two pieces of it
  (an idle timer: a large upload over a slow link is fine as long as it keeps coming).

Past either, the connection is closed (the application sees the client disconnect). Time when the server
does not read (flow control paused: the application is busy, or a pipelined request waits; a
``100-continue`` not yet sent) does not count."""

from __future__ import annotations

import asyncio
from typing import Any

import h11
from uvicorn.protocols.http.h11_impl import H11Protocol

try:
    from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol
except ImportError:  # pragma: no cover - httptools is optional for uvicorn
    HttpToolsProtocol = None  # type: ignore[assignment,misc]

READ_TIMEOUT = 30.0  # seconds: the headers' deadline, and the longest pause within a body
KEEP_ALIVE = 5  # seconds an idle kept-alive connection stays open (uvicorn's default)


class _Deadlines:
    """The timer shared by both protocols (``read_timeout``: set on the concrete classes)."""

    read_timeout = READ_TIMEOUT
    transport: asyncio.Transport
    loop: asyncio.AbstractEventLoop
    flow: Any
    _read_timer: asyncio.TimerHandle | None = None
    _read_phase: str | None = None  # "headers" | "body" | None (not waiting for the client)

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        super().connection_made(transport)  # type: ignore[misc]  # the protocol class after this one
        self._arm("headers")

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)  # type: ignore[misc]

    def _arm(self, phase: str) -> None:
        self._disarm()
        self._read_phase = phase
        self._read_timer = self.loop.call_later(self.read_timeout, self._read_timed_out)

    def _disarm(self) -> None:
        if self._read_timer is not None:
            self._read_timer.cancel()
        self._read_timer, self._read_phase = None, None

    def _server_holds_reading(self) -> bool:
        """The server, not the client, is why nothing arrives (paused reads, a 100-continue unsent)."""
        return bool(getattr(self.flow, "read_paused", False))

    def _read_timed_out(self) -> None:
        self._read_timer = None
        if self.transport.is_closing():
            return
        if self._server_holds_reading():
            self._read_timer = self.loop.call_later(self.read_timeout, self._read_timed_out)
            return
        self._read_phase = None
        self.transport.close()


if HttpToolsProtocol is not None:

    class HttpToolsReadTimeouts(_Deadlines, HttpToolsProtocol):
        def on_message_begin(self) -> None:
            super().on_message_begin()
            if self._read_phase != "headers":  # the connection's first request keeps its deadline
                self._arm("headers")

        def on_headers_complete(self) -> None:
            super().on_headers_complete()
            self._arm("body")  # disarmed by on_message_complete (at once when there is no body)

        def on_body(self, body: bytes) -> None:
            super().on_body(body)
            if self._read_phase == "body":
                self._arm("body")

        def on_message_complete(self) -> None:
            super().on_message_complete()
            self._disarm()

        def _server_holds_reading(self) -> bool:
            cycle = self.cycle
            waiting = cycle is not None and cycle.waiting_for_100_continue and not cycle.response_complete
            return waiting or super()._server_holds_reading()


class H11ReadTimeouts(_Deadlines, H11Protocol):
    def handle_events(self) -> None:
        super().handle_events()
        state = self.conn.their_state
        if state is h11.IDLE:
            if self.conn.trailing_data[0] and self._read_phase != "headers":
                self._arm("headers")  # a request has begun
        elif state is h11.SEND_BODY:
            self._arm("body")
        elif self._read_phase is not None:
            self._disarm()

    def _server_holds_reading(self) -> bool:
        return self.conn.they_are_waiting_for_100_continue or super()._server_holds_reading()


def protocol_class(read_timeout: float = READ_TIMEOUT) -> type[asyncio.Protocol]:
    """uvicorn's ``http`` protocol (httptools when installed, as uvicorn's "auto"), with the timeouts."""
    base: type[_Deadlines] = HttpToolsReadTimeouts if HttpToolsProtocol is not None else H11ReadTimeouts
    made: type[asyncio.Protocol] = type(base.__name__, (base,), {"read_timeout": read_timeout})
    return made
