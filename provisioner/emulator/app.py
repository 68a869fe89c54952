"""`build_app`: the emulator as a FastAPI app, for uvicorn or in-process httpx.ASGITransport.

State is loaded here, at build time, not in a lifespan hook: httpx.ASGITransport does not run
lifespan events, and the `--sandbox` mode builds the app in-process.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import yaml
from fastapi import FastAPI
from starlette.types import ASGIApp

from provisioner.emulator import (
    persistence,
    routes_agents,
    routes_calls,
    routes_control,
    routes_numbers,
    routes_workspace,
)
from provisioner.emulator.clock import Clock
from provisioner.emulator.control import EmulatorState
from provisioner.emulator.errors import EmulatorError, error_handler
from provisioner.emulator.faults import FaultPlan, coerce
from provisioner.emulator.limits import ServerLimits
from provisioner.emulator.middleware import EmulatorMiddleware, NestingGuard
from provisioner.emulator.semantics import Semantics
from provisioner.emulator.semantics import coerce as coerce_semantics
from provisioner.emulator.store import STATE_VERSION, Store


class EmulatorApp(FastAPI):
    """FastAPI with the emulator middleware outermost (it must see the server's own `send`)."""

    def build_middleware_stack(self) -> ASGIApp:
        inner = super().build_middleware_stack()
        return EmulatorMiddleware(NestingGuard(inner), self.state.emulator, list(self.router.routes))


def load_seed_file(path: Path) -> dict[str, Any]:
    """A seed workspace from YAML or JSON (JSON is YAML, but JSON errors read better)."""
    text = path.read_text()
    try:
        data = json.loads(text) if path.suffix == ".json" else yaml.safe_load(text)
    except json.JSONDecodeError as exc:
        raise ValueError(f"{path}: not valid JSON (line {exc.lineno}, column {exc.colno})") from None
    except yaml.YAMLError as exc:
        # Only the position: the parser's snippet of the line could show a secret.
        mark = getattr(exc, "problem_mark", None)
        where = f" (line {mark.line + 1}, column {mark.column + 1})" if mark else ""
        raise ValueError(f"{path}: not valid YAML{where}") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ValueError(f"{path}: a seed must be a mapping with agents/phone_numbers/settings/secrets")
    return data


def build_app(
    *,
    api_keys: Sequence[str] | None = None,
    state_file: Path | None = None,
    seed: Mapping[str, Any] | None = None,
    faults: str | FaultPlan | None = None,
    latency_ms: int = 0,
    clock: Clock | None = None,
    allow_duplicate_numbers: bool = False,
    semantics: str | Semantics | None = None,
    max_concurrency: int | None = None,
    rate_limit: float | None = None,
) -> FastAPI:
    """Build an emulator app.

    - `api_keys`: accepted `xi-api-key` values; None accepts any non-empty key.
    - `state_file`: persist every write atomically; loaded now if it exists (the seed is then
      ignored, so a restart keeps what clients did).
    - `seed`: the starting workspace (`agents`, `phone_numbers`, `settings`, `secrets`).
    - `faults`: a fault spec (see `provisioner.emulator.faults`) or a `FaultPlan`.
    - `latency_ms`: delay added to every real-API request.
    - `clock`: the batch clock (default: wall time; advance with `POST /_emulator/clock/advance`).
    - `allow_duplicate_numbers`: accept a second import of the same `phone_number` (default: 400).
    - `semantics`: the semantics switches, a `Semantics` or a spec such as
      `"agent_patch=replace,placeholder_null=remove"` (see `provisioner.emulator.semantics`);
      a bad spec raises `SemanticsError` (a `ValueError`).
    - `max_concurrency`: above this many real-API requests in flight, 429 `concurrent_limit_exceeded`.
    - `rate_limit`: requests per second (token bucket); over it, 429 `rate_limit_exceeded` with
      `Retry-After` (see `provisioner.emulator.limits`). None: no limit (the default for both).
    """
    limits = ServerLimits(max_concurrency=max_concurrency, rate_limit=rate_limit)
    store = Store(
        clock=clock,
        state_file=state_file,
        allow_duplicate_numbers=allow_duplicate_numbers,
        semantics=coerce_semantics(semantics),
    )
    store.remove_stale_temporaries()
    state = persistence.load(state_file, STATE_VERSION) if state_file is not None else None
    if state is not None:
        try:
            store.load_state(state)
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise persistence.StateFileError(
                f"{state_file} is a damaged state file ({type(exc).__name__}: {exc})"
            ) from None
    elif seed:
        store.apply_seed(seed)
    else:
        store.save()
    app = EmulatorApp(
        title="ElevenLabs API emulator",
        docs_url=None,
        redoc_url=None,
        openapi_url="/_emulator/openapi.json",
    )
    app.state.emulator = EmulatorState(
        store=store, api_keys=api_keys, faults=coerce(faults), latency_ms=latency_ms, seed=seed, limits=limits
    )
    app.state.store = store
    app.add_exception_handler(EmulatorError, error_handler)
    for module in (routes_control, routes_numbers, routes_agents, routes_workspace, routes_calls):
        app.include_router(module.router)
    return app
