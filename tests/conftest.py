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
"""

from __future__ import annotations

import os
import queue
import subprocess
import sys
import threading
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import httpx
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
