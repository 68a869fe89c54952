"""What many test files share: running the `telephony` CLI, and observe → plan → apply.

- `run_cli(*args, cwd=, env=, input=)`: `python -m provisioner ARGS` in a subprocess, running
  this checkout's code (its root first on PYTHONPATH, whatever `pip install -e` points at).
  `cli_env()` builds the environment; `cli_command()` is the argv, for tests that need `Popen`.
- `observe_and_plan`, `apply_plan`, `plan_and_apply`, `replan`: the library path the CLI's
  plan/apply take, in one place, so a change of those functions' signatures is one edit here.
  `emulator_client(app)` is an `ElevenLabsClient` on an in-process emulator app.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from fastapi import FastAPI

    from provisioner.api.client import ElevenLabsClient, RetryPolicy
    from provisioner.api.live import LiveState
    from provisioner.apply import ApplyReport
    from provisioner.manifest import Manifest
    from provisioner.plan import Plan
    from provisioner.planner import Options

ROOT = Path(__file__).resolve().parents[1]
CLI_TIMEOUT_S = 120


# -- the CLI in a subprocess ------------------------------------------------------------------


def with_checkout(env: Mapping[str, str]) -> dict[str, str]:
    """`env` with this checkout first on PYTHONPATH."""
    path = env.get("PYTHONPATH")
    return {**env, "PYTHONPATH": str(ROOT) + (os.pathsep + path if path else "")}


def cli_env(*, minimal: bool = False, **extra: str) -> dict[str, str]:
    """The CLI's environment: this process's without ELEVENLABS_* / TELEPHONY_* (or, `minimal`,
    only PATH and HOME), NO_COLOR=1, this checkout on PYTHONPATH, then `extra`."""
    if minimal:
        base = {k: v for k, v in os.environ.items() if k in ("PATH", "HOME", "SYSTEMROOT")}
    else:
        base = {k: v for k, v in os.environ.items() if not k.startswith(("ELEVENLABS_", "TELEPHONY_"))}
    base["NO_COLOR"] = "1"
    return with_checkout({**base, **extra})


def cli_command(*args: str) -> list[str]:
    return [sys.executable, "-m", "provisioner", *args]


def run_cli(
    *args: str,
    cwd: Path | str | None = None,
    env: Mapping[str, str] | None = None,
    input: str | None = None,
    timeout: float = CLI_TIMEOUT_S,
) -> subprocess.CompletedProcess[str]:
    """`telephony ARGS` in a subprocess; `env` is the whole environment (default `cli_env()`)."""
    return subprocess.run(
        cli_command(*args),
        cwd=cwd,
        env=with_checkout(env) if env is not None else cli_env(),
        input=input,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


# -- observe → plan → apply, in-process --------------------------------------------------------


def emulator_client(
    app: FastAPI, *, api_key: str = "k", retry: RetryPolicy | None = None, **kwargs: Any
) -> ElevenLabsClient:
    """The provisioner's API client on an in-process emulator app (use it with `async with`)."""
    from provisioner.api.client import ElevenLabsClient
    from provisioner.emulator import EmulatorTransport

    if retry is not None:
        kwargs["retry"] = retry
    return ElevenLabsClient("http://emulator", api_key, transport=EmulatorTransport(app), **kwargs)


async def observe_and_plan(
    client: ElevenLabsClient, manifest: Manifest, options: Options | None = None
) -> tuple[LiveState, Plan]:
    from provisioner import library

    return await library.observe_and_plan(manifest, client, options)


async def apply_plan(
    client: ElevenLabsClient,
    live: LiveState,
    plan: Plan,
    environ: Mapping[str, str],
    progress: Any = None,
) -> ApplyReport:
    """Execute `plan`, resolving `${VAR}`s from `environ`."""
    from provisioner import grammar, library

    return await library.execute(client, plan, live, lambda v: grammar.resolve_references(v, environ), progress)


async def plan_and_apply(
    client: ElevenLabsClient,
    manifest: Manifest,
    environ: Mapping[str, str],
    options: Options | None = None,
    progress: Any = None,
) -> tuple[Plan, ApplyReport]:
    """Observe, plan, apply: what `telephony apply --auto-approve` does."""
    live, plan = await observe_and_plan(client, manifest, options)
    return plan, await apply_plan(client, live, plan, environ, progress)


async def replan(client: ElevenLabsClient, manifest: Manifest) -> Plan:
    """A fresh plan: after a converged apply it has no changes."""
    return (await observe_and_plan(client, manifest))[1]


def live_state(
    numbers: Iterable[dict[str, Any]] = (),
    agents: Iterable[str | dict[str, Any]] = (),
    settings: dict[str, Any] | None = None,
    secrets: Iterable[dict[str, Any]] = (),
) -> LiveState:
    """A LiveState from API-shaped dicts (an agent given by id alone is an agent with no settings)."""
    from provisioner.api import wire
    from provisioner.api.live import decode

    return decode(
        numbers=[wire.PhoneNumberResponse.model_validate(n) for n in numbers],
        agents=[wire.AgentResponse.model_validate({"agent_id": a} if isinstance(a, str) else a) for a in agents],
        settings=wire.SettingsResponse.model_validate(settings) if settings is not None else None,
        secrets=[wire.SecretResponse.model_validate(s) for s in secrets],
    )
