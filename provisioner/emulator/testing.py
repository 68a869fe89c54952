"""Drive the emulator from tests and benchmarks: a real server process, and its `/_emulator/` controls.

    with start_server("--seed", "seed.json") as server:   # `telephony emulator serve --port 0`
        server.reset(); server.set_faults("kinds=500;count=1"); server.set_semantics(agent_patch="replace")
        httpx.get(server.url + "/v1/convai/phone-numbers", headers={"xi-api-key": server.api_key})

- `start_server(*args)` runs `python -m provisioner emulator serve --port 0 --api-key KEY *args`
  (this interpreter, this copy of `provisioner`), waits for its "Emulator listening on URL" line
  and returns an `EmulatorServer` (a context manager: leaving it stops the process).
- `EmulatorServer.stop()` signals that process by its pid (SIGTERM, then SIGKILL after 10 s),
  never anything found by name.
- `Controls` / `AsyncControls` wrap the control routes (see `routes_control`) over any httpx
  client; `inprocess_controls(app)` gives them for an app built in-process with `build_app`.

Only httpx is needed to import this module; FastAPI is imported by `inprocess_*` alone.
"""

from __future__ import annotations

import os
import queue
import signal
import subprocess
import sys
import threading
from collections.abc import Mapping, Sequence
from pathlib import Path
from types import TracebackType
from typing import IO, TYPE_CHECKING, Any

import httpx

if TYPE_CHECKING:
    from fastapi import FastAPI

API_KEY = "test-key"
LISTEN_PREFIX = "Emulator listening on "
STARTUP_TIMEOUT_S = 20.0
STOP_TIMEOUT_S = 10.0
INPROCESS_URL = "http://emulator"
# The directory holding this copy of `provisioner`: put first on the server's PYTHONPATH.
PACKAGE_ROOT = str(Path(__file__).resolve().parents[2])


def _json(response: httpx.Response) -> Any:
    response.raise_for_status()
    return response.json()


class Controls:
    """The `/_emulator/*` routes (no api key needed) over a synchronous httpx client."""

    def __init__(self, http: httpx.Client) -> None:
        self.http = http

    def call(self, method: str, path: str, body: Any = None) -> Any:
        """`METHOD /_emulator/PATH` with a JSON body; the decoded response (raises on 4xx/5xx)."""
        return _json(self.http.request(method, f"/_emulator/{path}", json=body))

    def health(self) -> bool:
        return bool(self.call("GET", "health")["ok"])

    def stats(self) -> dict[str, Any]:
        result: dict[str, Any] = self.call("GET", "stats")
        return result

    def reset(self) -> None:
        self.call("POST", "reset")

    def clock(self) -> dict[str, Any]:
        result: dict[str, Any] = self.call("GET", "clock")
        return result

    def advance_clock(self, seconds: float) -> dict[str, Any]:
        result: dict[str, Any] = self.call("POST", "clock/advance", {"seconds": seconds})
        return result

    def set_faults(self, spec: str) -> dict[str, Any]:
        result: dict[str, Any] = self.call("PUT", "faults", {"spec": spec})
        return result

    def clear_faults(self) -> None:
        self.call("DELETE", "faults")

    def drop_fields(self, paths: Sequence[str]) -> None:
        self.call("PUT", "drop-fields", {"paths": list(paths)})

    def clear_drop_fields(self) -> None:
        self.call("DELETE", "drop-fields")

    def state(self) -> dict[str, Any]:
        result: dict[str, Any] = self.call("GET", "state")
        return result

    def semantics(self) -> dict[str, str]:
        """The six semantics switches, `{name: value}`."""
        result: dict[str, str] = self.call("GET", "semantics")
        return result

    def set_semantics(self, **values: str) -> dict[str, str]:
        """Set some switches (`set_semantics(agent_patch="replace")`); all six back."""
        result: dict[str, str] = self.call("PUT", "semantics", values)
        return result

    def requests(self) -> list[dict[str, Any]]:
        """The logged real-API requests since the last reset: `{method, path, query, body}`."""
        result: list[dict[str, Any]] = self.call("GET", "requests")
        return result

    def clear_requests(self) -> None:
        self.call("DELETE", "requests")


class AsyncControls:
    """`Controls` over an async httpx client (e.g. one on `EmulatorTransport`, in-process)."""

    def __init__(self, http: httpx.AsyncClient) -> None:
        self.http = http

    async def call(self, method: str, path: str, body: Any = None) -> Any:
        return _json(await self.http.request(method, f"/_emulator/{path}", json=body))

    async def health(self) -> bool:
        return bool((await self.call("GET", "health"))["ok"])

    async def stats(self) -> dict[str, Any]:
        result: dict[str, Any] = await self.call("GET", "stats")
        return result

    async def reset(self) -> None:
        await self.call("POST", "reset")

    async def clock(self) -> dict[str, Any]:
        result: dict[str, Any] = await self.call("GET", "clock")
        return result

    async def advance_clock(self, seconds: float) -> dict[str, Any]:
        result: dict[str, Any] = await self.call("POST", "clock/advance", {"seconds": seconds})
        return result

    async def set_faults(self, spec: str) -> dict[str, Any]:
        result: dict[str, Any] = await self.call("PUT", "faults", {"spec": spec})
        return result

    async def clear_faults(self) -> None:
        await self.call("DELETE", "faults")

    async def drop_fields(self, paths: Sequence[str]) -> None:
        await self.call("PUT", "drop-fields", {"paths": list(paths)})

    async def clear_drop_fields(self) -> None:
        await self.call("DELETE", "drop-fields")

    async def state(self) -> dict[str, Any]:
        result: dict[str, Any] = await self.call("GET", "state")
        return result

    async def semantics(self) -> dict[str, str]:
        result: dict[str, str] = await self.call("GET", "semantics")
        return result

    async def set_semantics(self, **values: str) -> dict[str, str]:
        result: dict[str, str] = await self.call("PUT", "semantics", values)
        return result

    async def requests(self) -> list[dict[str, Any]]:
        result: list[dict[str, Any]] = await self.call("GET", "requests")
        return result

    async def clear_requests(self) -> None:
        await self.call("DELETE", "requests")


def inprocess_client(app: FastAPI, *, api_key: str | None = API_KEY, **kwargs: Any) -> httpx.AsyncClient:
    """An async httpx client on `app` through `EmulatorTransport` (base URL `http://emulator`)."""
    from provisioner.emulator.transport import EmulatorTransport

    headers = {"xi-api-key": api_key} if api_key else {}
    return httpx.AsyncClient(transport=EmulatorTransport(app), base_url=INPROCESS_URL, headers=headers, **kwargs)


def inprocess_controls(app: FastAPI) -> AsyncControls:
    """The control routes of an in-process app (the client needs no closing: no sockets)."""
    return AsyncControls(inprocess_client(app, api_key=None))


class EmulatorServer(Controls):
    """A running `telephony emulator serve` process: `.url`, `.api_key`, `.pid`, the controls, `stop()`."""

    def __init__(self, proc: subprocess.Popen[str], url: str, api_key: str = API_KEY) -> None:
        super().__init__(httpx.Client(base_url=url, timeout=10.0))
        self.proc = proc
        self.url = url
        self.api_key = api_key

    @property
    def pid(self) -> int:
        return self.proc.pid

    def client(self, **kwargs: Any) -> httpx.Client:
        """An httpx client for the real-API routes, with `xi-api-key` set."""
        kwargs.setdefault("timeout", 10.0)
        return httpx.Client(base_url=self.url, headers={"xi-api-key": self.api_key}, **kwargs)

    def sdk(self, **kwargs: Any) -> Any:
        """The official `elevenlabs` SDK pointed at this server (the SDK is a test dependency)."""
        from elevenlabs import ElevenLabs

        return ElevenLabs(api_key=self.api_key, base_url=self.url, **kwargs)

    def stop(self, sig: int = signal.SIGTERM) -> int:
        """Send `sig` to the server's pid, wait (SIGKILL after 10 s); its exit code. Idempotent."""
        self.http.close()
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout=STOP_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        return int(self.proc.returncode)

    def __enter__(self) -> EmulatorServer:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()


def server_command(*args: str, api_key: str = API_KEY) -> list[str]:
    return [sys.executable, "-m", "provisioner", "emulator", "serve", "--port", "0", "--api-key", api_key, *args]


def server_env(env: Mapping[str, str] | None = None) -> dict[str, str]:
    """`env` (default: this process's) with this copy of `provisioner` first on PYTHONPATH."""
    base = dict(os.environ if env is None else env)
    path = base.get("PYTHONPATH")
    return {**base, "PYTHONPATH": PACKAGE_ROOT + (os.pathsep + path if path else ""), "PYTHONUNBUFFERED": "1"}


def _pump(stream: IO[str], sink: queue.Queue[str] | list[str]) -> None:
    # Keep reading, so a chatty server never blocks on a full pipe; "" marks the end of a queue.
    for line in stream:
        if isinstance(sink, list):
            sink.append(line)
        else:
            sink.put(line)
    if isinstance(sink, queue.Queue):
        sink.put("")


def start_server(
    *args: str,
    api_key: str = API_KEY,
    cwd: Path | str | None = None,
    env: Mapping[str, str] | None = None,
    timeout: float = STARTUP_TIMEOUT_S,
) -> EmulatorServer:
    """Start `emulator serve --port 0 --api-key KEY *args` and wait for its URL line.

    Raises `RuntimeError` (with the server's stderr) if it exits or says nothing within `timeout`.
    """
    cmd = server_command(*args, api_key=api_key)
    proc = subprocess.Popen(
        cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=cwd, env=server_env(env)
    )
    assert proc.stdout is not None and proc.stderr is not None
    lines: queue.Queue[str] = queue.Queue()
    errors: list[str] = []
    threading.Thread(target=_pump, args=(proc.stdout, lines), daemon=True).start()
    stderr_reader = threading.Thread(target=_pump, args=(proc.stderr, errors), daemon=True)
    stderr_reader.start()
    try:
        while True:
            line = lines.get(timeout=timeout)
            if not line:  # stdout closed: the server exited
                break
            if line.startswith(LISTEN_PREFIX):
                return EmulatorServer(proc, line[len(LISTEN_PREFIX) :].strip(), api_key)
    except queue.Empty:
        pass
    if proc.poll() is None:
        proc.kill()
    proc.wait()
    stderr_reader.join(timeout=1.0)
    raise RuntimeError(f"emulator did not start: {' '.join(cmd)} (exit {proc.returncode}): {''.join(errors)[-2000:]}")
