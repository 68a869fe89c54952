"""A real, deliberately misbehaving HTTP server for tests: `HostileServer`.

A `http.server.ThreadingHTTPServer` on 127.0.0.1, port 0, in a thread. By default it answers
like a tiny, empty, well-behaved workspace (`DEFAULTS`); a test overrides one call with
`server.on(method, path, reply)` where `reply` is a `Reply` or a function of the `Seen` request
returning one. A `Reply` can drip its body (`drip` seconds between bytes), send it chunked (no
Content-Length), or be made of `repeat` copies of `body` (a large body without building it in
memory). Every request is recorded in `server.seen`. Use the `hostile` fixture (tests stop the
server there).
"""

from __future__ import annotations

import contextlib
import json
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit


@dataclass
class Seen:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: bytes


@dataclass
class Reply:
    status: int = 200
    body: bytes = b""
    content_type: str = "application/json"
    drip: float | None = None  # seconds between single bytes of the body
    chunked: bool = False  # no Content-Length: the body is sent as chunks
    repeat: int = 1  # the body is `body` sent `repeat` times
    headers: dict[str, str] = field(default_factory=dict)


def json_reply(data: Any, status: int = 200) -> Reply:
    return Reply(status, json.dumps(data).encode())


NUMBER = {"phone_number": "+14155550100", "label": "Line", "phone_number_id": "phnum_1", "provider": "twilio"}

DEFAULTS: dict[tuple[str, str], Reply] = {
    ("GET", "/v1/convai/v2/phone-numbers"): json_reply({"phone_numbers": [], "has_more": False}),
    ("GET", "/v1/convai/phone-numbers"): json_reply([]),
    ("GET", "/v1/convai/phone-numbers/phnum_1"): json_reply(NUMBER),
    ("POST", "/v1/convai/phone-numbers"): json_reply({"phone_number_id": "phnum_1"}),
    ("PATCH", "/v1/convai/phone-numbers/phnum_1"): json_reply(NUMBER),
    ("DELETE", "/v1/convai/phone-numbers/phnum_1"): Reply(204),
    ("GET", "/v1/convai/agents/agent_1"): json_reply({"agent_id": "agent_1"}),
    ("PATCH", "/v1/convai/agents/agent_1"): json_reply({"agent_id": "agent_1"}),
    ("GET", "/v1/convai/settings"): json_reply({}),
    ("PATCH", "/v1/convai/settings"): json_reply({}),
    ("GET", "/v1/convai/secrets"): json_reply({"secrets": []}),
    ("POST", "/v1/convai/secrets"): json_reply({"secret_id": "sec_1"}),
}

Handler = Reply | Callable[[Seen], Reply]


class _Quiet(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # a client that hung up mid-body is what these tests provoke


class HostileServer:
    def __init__(self) -> None:
        self.routes: dict[tuple[str, str], Handler] = dict(DEFAULTS)
        self.seen: list[Seen] = []
        self.stopping = threading.Event()
        owner = self

        class _Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:  # quiet
                pass

            def _any(self) -> None:
                owner._serve(self)

            do_GET = do_POST = do_PATCH = do_DELETE = do_PUT = _any

        self._http = _Quiet(("127.0.0.1", 0), _Handler)
        self.url = f"http://127.0.0.1:{self._http.server_address[1]}"
        self._thread = threading.Thread(target=self._http.serve_forever, args=(0.05,), daemon=True)
        self._thread.start()

    def on(self, method: str, path: str, reply: Handler) -> None:
        self.routes[(method, path)] = reply

    def calls(self, method: str, path: str) -> list[Seen]:
        return [s for s in self.seen if s.method == method and s.path == path]

    def stop(self) -> None:
        self.stopping.set()
        self._http.shutdown()
        self._http.server_close()
        self._thread.join(timeout=5)

    def _serve(self, handler: BaseHTTPRequestHandler) -> None:
        parts = urlsplit(handler.path)
        length = int(handler.headers.get("content-length") or 0)
        seen = Seen(
            handler.command,
            parts.path,
            parse_qs(parts.query),
            {k.lower(): v for k, v in handler.headers.items()},
            handler.rfile.read(length) if length else b"",
        )
        self.seen.append(seen)
        route = self.routes.get((seen.method, seen.path))
        if route is None:
            reply = json_reply({"detail": {"message": "Not Found"}}, 404)
        else:
            reply = route(seen) if callable(route) else route
        # The client giving up mid-body is what these tests provoke.
        with contextlib.suppress(BrokenPipeError, ConnectionResetError, ConnectionAbortedError):
            self._write(handler, reply)

    def _write(self, handler: BaseHTTPRequestHandler, reply: Reply) -> None:
        handler.send_response(reply.status)
        handler.send_header("Content-Type", reply.content_type)
        for name, value in reply.headers.items():
            handler.send_header(name, value)
        total = len(reply.body) * reply.repeat
        if reply.chunked:
            handler.send_header("Transfer-Encoding", "chunked")
        else:
            handler.send_header("Content-Length", str(total))
        handler.end_headers()
        for piece in self._pieces(reply):
            if self.stopping.is_set():
                return
            if reply.chunked:
                handler.wfile.write(f"{len(piece):x}\r\n".encode() + piece + b"\r\n")
            else:
                handler.wfile.write(piece)
            handler.wfile.flush()
            if reply.drip:
                time.sleep(reply.drip)
        if reply.chunked:
            handler.wfile.write(b"0\r\n\r\n")
            handler.wfile.flush()

    @staticmethod
    def _pieces(reply: Reply) -> Iterator[bytes]:
        if reply.drip:
            for _ in range(reply.repeat):
                for i in range(len(reply.body)):
                    yield reply.body[i : i + 1]
            return
        for _ in range(reply.repeat):
            if reply.body:
                yield reply.body
