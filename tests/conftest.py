"""Shared fixtures: the ElevenLabs API emulator, as a real server and in-process.

- `emulator_server`: a real `telephony emulator serve --port 0 --api-key test-key` process
  (one per test session), reset before each test. It has `.url`, `.api_key`, and helpers for
  `/_emulator/*`: `stats()`, `reset()`, `advance_clock(s)`, `set_faults(spec)`,
  `clear_faults()`, `drop_fields(paths)`, `clear_drop_fields()`, `state()`, plus `client()`
  (an `httpx.Client` with the api key) and `sdk()` (the official `ElevenLabs` client).
- `start_emulator`: a factory for servers with custom flags (`--state`, `--seed`, `--faults`, …);
  every server it starts is killed at the end of the test.
- `emulator_app`: `build_app(api_keys=["test-key"])`, fresh per test.
- `asgi_client`: an `httpx.AsyncClient` on `emulator_app` through `EmulatorTransport`
  (base URL `http://emulator`, api key set); use it in `@pytest.mark.anyio` tests.
- `openapi`: validates a response body against the official spec in `tests/data/`
  (`openapi.validate(method, path, status, body)`; raises `jsonschema.ValidationError`).
"""

from __future__ import annotations

import json
import os
import queue
import re
import subprocess
import sys
import threading
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import httpx
import jsonschema
import pytest
from fastapi import FastAPI

from provisioner.emulator import EmulatorTransport, build_app

API_KEY = "test-key"
STARTUP_TIMEOUT_S = 20.0
LISTEN_PREFIX = "Emulator listening on "


class EmulatorServer:
    """A running `telephony emulator serve` process and helpers for its `/_emulator/` routes."""

    def __init__(self, proc: subprocess.Popen[str], url: str, api_key: str = API_KEY) -> None:
        self.proc = proc
        self.url = url
        self.api_key = api_key
        self._control = httpx.Client(base_url=url, timeout=10.0)

    # --- the real API ---
    def client(self, **kwargs: Any) -> httpx.Client:
        """An httpx client for the real-API routes, with `xi-api-key` set."""
        return httpx.Client(base_url=self.url, headers={"xi-api-key": self.api_key}, timeout=10.0, **kwargs)

    def sdk(self, **kwargs: Any) -> Any:
        """The official SDK pointed at this server."""
        from elevenlabs import ElevenLabs

        return ElevenLabs(api_key=self.api_key, base_url=self.url, **kwargs)

    # --- /_emulator/ controls ---
    def _call(self, method: str, path: str, json: Any = None) -> Any:
        response = self._control.request(method, f"/_emulator/{path}", json=json)
        response.raise_for_status()
        return response.json()

    def stats(self) -> dict[str, Any]:
        result: dict[str, Any] = self._call("GET", "stats")
        return result

    def reset(self) -> None:
        self._call("POST", "reset")

    def advance_clock(self, seconds: float) -> dict[str, Any]:
        result: dict[str, Any] = self._call("POST", "clock/advance", {"seconds": seconds})
        return result

    def set_faults(self, spec: str) -> None:
        self._call("PUT", "faults", {"spec": spec})

    def clear_faults(self) -> None:
        self._call("DELETE", "faults")

    def drop_fields(self, paths: Sequence[str]) -> None:
        self._call("PUT", "drop-fields", {"paths": list(paths)})

    def clear_drop_fields(self) -> None:
        self._call("DELETE", "drop-fields")

    def state(self) -> dict[str, Any]:
        result: dict[str, Any] = self._call("GET", "state")
        return result

    def stop(self, sig: int | None = None) -> int:
        """Stop the process (SIGTERM by default, or the given signal); returns its exit code."""
        self._control.close()
        if self.proc.poll() is None:
            if sig is None:
                self.proc.terminate()
            else:
                self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        return int(self.proc.returncode)


def launch_emulator(args: Sequence[str] = (), *, api_key: str = API_KEY, cwd: Path | None = None) -> EmulatorServer:
    """Start `python -m provisioner emulator serve --port 0` and wait for its URL line."""
    cmd = [sys.executable, "-m", "provisioner", "emulator", "serve", "--port", "0", "--api-key", api_key, *args]
    proc = subprocess.Popen(
        cmd,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=cwd,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    assert proc.stdout is not None
    lines: queue.Queue[str] = queue.Queue()

    def pump(stream: Any) -> None:  # keep reading so a chatty server never blocks on a full pipe
        for line in stream:
            lines.put(line)

    threading.Thread(target=pump, args=(proc.stdout,), daemon=True).start()
    threading.Thread(target=lambda: proc.stderr and proc.stderr.read(), daemon=True).start()
    try:
        while True:
            line = lines.get(timeout=STARTUP_TIMEOUT_S)
            if line.startswith(LISTEN_PREFIX):
                return EmulatorServer(proc, line[len(LISTEN_PREFIX) :].strip(), api_key)
    except queue.Empty:
        proc.kill()
        raise RuntimeError(f"emulator did not start: {' '.join(cmd)} (exit {proc.poll()})") from None


@pytest.fixture(scope="session")
def emulator_server_session() -> Iterator[EmulatorServer]:
    server = launch_emulator()
    yield server
    server.stop()


@pytest.fixture
def emulator_server(emulator_server_session: EmulatorServer) -> EmulatorServer:
    """The shared emulator process, reset to an empty workspace (no faults, no drops)."""
    emulator_server_session.reset()
    return emulator_server_session


@pytest.fixture
def start_emulator() -> Iterator[Callable[..., EmulatorServer]]:
    started: list[EmulatorServer] = []

    def start(*args: str, api_key: str = API_KEY, cwd: Path | None = None) -> EmulatorServer:
        server = launch_emulator(args, api_key=api_key, cwd=cwd)
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
def emulator_app() -> FastAPI:
    return build_app(api_keys=[API_KEY])


@pytest.fixture
async def asgi_client(emulator_app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    transport = EmulatorTransport(emulator_app)
    async with httpx.AsyncClient(
        transport=transport, base_url="http://emulator", headers={"xi-api-key": API_KEY}
    ) as client:
        yield client


SPEC_PATH = Path(__file__).parent / "data" / "elevenlabs-openapi.json"


class OpenApiValidator:
    """Response bodies checked against the official OpenAPI spec (JSON Schema 2020-12)."""

    def __init__(self, spec_path: Path = SPEC_PATH) -> None:
        spec = json.loads(spec_path.read_text())
        schemas = spec["components"]["schemas"]
        # The spec has two dangling refs; alias them as Prism users do.
        alias = {"$ref": "#/components/schemas/DynamicVariablesConfig"}
        for suffix in ("-Input", "-Output"):
            schemas.setdefault(f"DynamicVariablesConfig{suffix}", alias)
        self.components = spec["components"]
        self.paths = spec["paths"]
        self._templates = [
            (re.compile("^" + re.sub(r"\\{[^/]+?\\}", "[^/]+", re.escape(p)) + "$"), p) for p in self.paths
        ]
        self._validators: dict[tuple[str, str, int], jsonschema.Draft202012Validator | None] = {}

    def template(self, path: str) -> str | None:
        exact = path if path in self.paths else None
        if exact:
            return exact
        return next((t for rx, t in self._templates if rx.match(path)), None)

    def schema_for(self, method: str, path: str, status: int) -> dict[str, Any] | None:
        template = self.template(path)
        if template is None:
            return None
        operation = self.paths[template].get(method.lower())
        if operation is None:
            return None
        response = operation["responses"].get(str(status))
        if response is None:
            raise AssertionError(f"{method} {template}: status {status} is not documented")
        schema: dict[str, Any] | None = response.get("content", {}).get("application/json", {}).get("schema")
        return schema

    def validate(self, method: str, path: str, status: int, body: Any) -> bool:
        """True if validated; False if the spec has no such operation (e.g. the v2 list)."""
        key = (method.upper(), self.template(path) or path, status)
        if key not in self._validators:
            schema = self.schema_for(method, path, status)
            self._validators[key] = (
                None if schema is None else jsonschema.Draft202012Validator({**schema, "components": self.components})
            )
        validator = self._validators[key]
        if validator is None:
            return self.template(path) is not None  # documented without a body schema (e.g. 204)
        validator.validate(body)
        return True


@pytest.fixture(scope="session")
def openapi() -> OpenApiValidator:
    return OpenApiValidator()
