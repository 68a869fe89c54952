"""Outermost ASGI layer: per-route request counts, the server limits, latency, and fault injection.

It sits outside Starlette's own error middleware (see `EmulatorApp.build_middleware_stack`) so
that the `send` it receives is the server's: under uvicorn that is a bound method of the
connection's RequestResponseCycle, whose `.transport` can be aborted for a real socket drop.
In-process (httpx.ASGITransport) there is no socket, so a drop raises `DroppedConnection`,
which `EmulatorTransport` turns into the httpx error a real drop produces.
"""

from __future__ import annotations

import asyncio
import re
from typing import Any

from starlette.routing import Match
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from provisioner.emulator.control import EmulatorState
from provisioner.emulator.errors import EmulatorError, rate_limited, server_error
from provisioner.emulator.persistence import dumps


class DroppedConnection(Exception):
    """The emulator dropped the connection (`kind` is `drop_before` or `drop_after`)."""

    def __init__(self, kind: str) -> None:
        super().__init__(f"emulator fault: connection dropped ({kind})")
        self.kind = kind


class EmulatorMiddleware:
    def __init__(self, app: ASGIApp, state: EmulatorState, routes: list[Any]) -> None:
        self.app = app
        self.state = state
        self.routes = routes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"].startswith("/_emulator/"):
            await self.app(scope, receive, send)
            return
        state = self.state
        method, path = scope["method"], scope["path"]
        body = b""
        if method in _BODY_METHODS:
            body, receive = await _buffered(receive)
        state.record_request(method, path, scope.get("query_string", b"").decode("latin-1"), body)
        refused = state.limits.admit()
        if refused is not None:  # over --max-concurrency or --rate-limit: no latency, no fault
            await _send_error(send, refused)
            state.routes[f"{method} {self._route(scope)}"] += 1
            state.statuses[str(refused.status_code)] += 1
            return
        try:
            await self._serve(scope, receive, send)
        finally:
            state.limits.done()

    async def _serve(self, scope: Scope, receive: Receive, send: Send) -> None:
        state = self.state
        method, path = scope["method"], scope["path"]
        plan = state.faults
        fault = plan.draw(method, path) if plan else None
        delay = state.latency_ms + (plan.latency_ms if plan and plan.matches(method, path) else 0)
        if delay:
            await asyncio.sleep(delay / 1000)
        status: list[int] = []

        async def counting_send(message: Message) -> None:
            if message["type"] == "http.response.start":
                status.append(message["status"])
            await send(message)

        if fault is None:
            await self.app(scope, receive, counting_send)
        else:
            state.faults_injected[fault] += 1
            await self._inject(fault, scope, receive, send, status)
        state.routes[f"{method} {self._route(scope)}"] += 1
        state.statuses[str(status[0]) if status else "dropped"] += 1

    async def _inject(self, fault: str, scope: Scope, receive: Receive, send: Send, status: list[int]) -> None:
        if fault == "drop_after":

            async def swallow(_message: Message) -> None:
                return None

            await self.app(scope, receive, swallow)  # the write commits; its response never leaves
        if fault in ("drop_before", "drop_after"):
            await _drop(send, fault)
            return
        error: EmulatorError = (
            rate_limited(self.state.faults.retry_after if self.state.faults else 1)
            if fault == "429"
            else server_error(int(fault))
        )
        status.append(error.status_code)
        await _send_error(send, error)

    def _route(self, scope: Scope) -> str:
        route = scope.get("route")
        if route is None:  # faulted before routing: match here (only on this rare path)
            for candidate in self.routes:
                if candidate.matches(scope)[0] is Match.FULL:
                    route = candidate
                    break
        return str(getattr(route, "path", scope["path"]))


async def _send_error(send: Send, error: EmulatorError) -> None:
    body = dumps({"detail": error.detail})
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    headers += [(k.lower().encode(), v.encode()) for k, v in error.headers.items()]
    await send({"type": "http.response.start", "status": error.status_code, "headers": headers})
    await send({"type": "http.response.body", "body": body})


_BODY_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


async def _buffered(receive: Receive) -> tuple[bytes, Receive]:
    """Read the whole request body (for the request log); a `receive` that replays it."""
    chunks: list[bytes] = []
    more = True
    first: Message | None = None
    while more:
        message = await receive()
        if message["type"] != "http.request":
            first = message  # a disconnect: replayed as is
            break
        chunks.append(message.get("body", b""))
        more = message.get("more_body", False)
    body = b"".join(chunks)
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return first or {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return body, replay


async def _drop(send: Send, kind: str) -> None:
    cycle = getattr(send, "__self__", None)
    transport = getattr(cycle, "transport", None)
    if transport is None:
        raise DroppedConnection(kind)
    transport.abort()  # closes the socket now, unflushed: the client sees a disconnect, no response
    # Tell uvicorn the peer is gone before connection_lost runs, so it does not try to send a 500.
    cycle.disconnected = True  # type: ignore[union-attr]
    await asyncio.sleep(0)


MAX_JSON_DEPTH = 64
_STRING = re.compile(rb'"(?:[^"\\]|\\.)*"', re.DOTALL)


def json_depth(body: bytes) -> int:
    """How deeply `{`/`[` nest in a JSON document (strings ignored)."""
    bare = _STRING.sub(b"", body)
    if bare.count(b"{") + bare.count(b"[") <= MAX_JSON_DEPTH:
        return bare.count(b"{") + bare.count(b"[")  # an upper bound, cheap for the usual body
    depth = deepest = 0
    for byte in bare:
        if byte in b"{[":
            depth += 1
            deepest = max(deepest, depth)
        elif byte in b"}]":
            depth -= 1
    return deepest


class NestingGuard:
    """A JSON body nested deeper than `MAX_JSON_DEPTH` is a 422 in FastAPI's shape.

    Schemathesis found such bodies (free-form `workflow`, `procedures`, recipient data) crashing
    pydantic's serialiser with a 500; no real config nests anywhere near this deep.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] not in ("POST", "PATCH", "PUT"):
            await self.app(scope, receive, send)
            return
        chunks: list[bytes] = []
        more = True
        while more:
            message = await receive()
            if message["type"] != "http.request":
                break
            chunks.append(message.get("body", b""))
            more = message.get("more_body", False)
        body = b"".join(chunks)
        if json_depth(body) > MAX_JSON_DEPTH:
            detail = [
                {
                    "type": "value_error",
                    "loc": ["body"],
                    "msg": f"Value error, JSON nested deeper than {MAX_JSON_DEPTH} levels",
                    "input": None,
                }
            ]
            payload = dumps({"detail": detail})
            headers = [(b"content-type", b"application/json"), (b"content-length", str(len(payload)).encode())]
            await send({"type": "http.response.start", "status": 422, "headers": headers})
            await send({"type": "http.response.body", "body": payload})
            return
        sent = False

        async def replay() -> Message:
            nonlocal sent
            if not sent:
                sent = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)
