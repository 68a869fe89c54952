"""Shared fixtures: the ElevenLabs API emulator, as a real server and in-process.

The launcher and the control-route helpers live in `provisioner.emulator.testing`; these are
thin pytest fixtures around them.

- `emulator_server`: a real `telephony emulator serve --port 0 --api-key test-key` process
  (one per test session), reset before each test. An `EmulatorServer`: `.url`, `.api_key`, the
  `/_emulator/*` helpers (`stats()`, `reset()`, `advance_clock(s)`, `set_faults(spec)`,
  `clear_faults()`, `drop_fields(paths)`, `clear_drop_fields()`, `state()`), plus `client()`
  (an `httpx.Client` with the api key) and `sdk()` (the official `ElevenLabs` client).
- `start_emulator`: a factory for servers with custom flags (`--state`, `--seed`, `--faults`, …);
  every server it starts is stopped (by its pid) at the end of the test.
- `emulator_app`: `build_app(api_keys=["test-key"])`, fresh per test.
- `asgi_client`: an `httpx.AsyncClient` on `emulator_app` through `EmulatorTransport`
  (base URL `http://emulator`, api key set); use it in `@pytest.mark.anyio` tests.
- `openapi`: validates a response body against the official spec in `tests/data/`
  (`openapi.validate(method, path, status, body)`; raises `jsonschema.ValidationError`).

- `built_wheel` (session): this checkout's wheel, built once per run with `python -m build`
  (`tests/wheel.py`; also `built_package`, the (sdist, wheel) pair, and `fresh_venv`).

Lanes: a test that uses `emulator_server` or `start_emulator` (a real server process) is marked
`e2e` here, so `pytest -m "not e2e and not slow"` (the quick lane, under 30 s) leaves it out.
When `-m` deselects `e2e`, the modules in `E2E_ONLY` are not even collected: building the
schemathesis suite alone takes ~10 s at collection.
"""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import jsonschema
import pytest
from fastapi import FastAPI

from provisioner.emulator import build_app
from provisioner.emulator.testing import API_KEY, EmulatorServer, inprocess_client, start_server
from tests.wheel import built_package, built_wheel, fresh_venv  # noqa: F401  (session fixtures, shared)

__all__ = ["API_KEY", "EmulatorServer", "OpenApiValidator"]


REAL_SERVER_FIXTURES = frozenset({"emulator_server", "emulator_server_session", "start_emulator"})
HERE = Path(__file__).parent
E2E_ONLY = frozenset({HERE / "e2e", HERE / "test_emulator_schemathesis.py"})


def deselects_e2e(config: pytest.Config) -> bool:
    """True if the `-m` expression leaves out every test marked `e2e` (whatever its other marks)."""
    markexpr = config.getoption("markexpr", "")
    if not markexpr:
        return False
    from _pytest.mark.expression import Expression  # the parser `-m` itself uses

    try:
        expression = Expression.compile(markexpr)

        def marked(*marks: str) -> Callable[..., bool]:
            return lambda name, **_: name in marks

        return not (expression.evaluate(marked("e2e")) or expression.evaluate(marked("e2e", "slow")))
    except Exception:  # an expression pytest will reject itself, with a better message
        return False


def pytest_ignore_collect(collection_path: Path, config: pytest.Config) -> bool | None:
    if collection_path in E2E_ONLY and deselects_e2e(config):
        return True
    return None


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if REAL_SERVER_FIXTURES & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.e2e)


@pytest.fixture(autouse=True)
def _logging_restored() -> Iterator[None]:
    """The `telephony` group configures logging (provisioner.logsetup) and colour when a test runs
    the CLI in-process; put them back so later tests see pytest's defaults."""
    import logging

    from provisioner import colour

    root, own = logging.getLogger(), logging.getLogger("provisioner")
    handlers, root_level, own_level = list(root.handlers), root.level, own.level
    yield
    root.handlers[:] = handlers
    root.setLevel(root_level)
    own.setLevel(own_level)
    colour.disable(False)


@pytest.fixture(scope="session")
def emulator_server_session() -> Iterator[EmulatorServer]:
    with start_server() as server:
        yield server


@pytest.fixture
def emulator_server(emulator_server_session: EmulatorServer) -> EmulatorServer:
    """The shared emulator process, reset to an empty workspace (no faults, no drops)."""
    emulator_server_session.reset()
    return emulator_server_session


@pytest.fixture
def start_emulator() -> Iterator[Callable[..., EmulatorServer]]:
    started: list[EmulatorServer] = []

    def start(*args: str, api_key: str = API_KEY, cwd: Path | None = None) -> EmulatorServer:
        server = start_server(*args, api_key=api_key, cwd=cwd)
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
    async with inprocess_client(emulator_app, api_key=API_KEY) as client:
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
