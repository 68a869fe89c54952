"""Build observed state and run observe → plan → apply for in-process tests (one place for all)."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

from provisioner.api import wire
from provisioner.api.client import ElevenLabsClient
from provisioner.api.live import LiveState, decode
from provisioner.apply import ApplyReport
from provisioner.library import execute, observe_and_plan
from provisioner.manifest import Manifest
from provisioner.plan import Plan
from provisioner.planner import Options


def live_state(
    numbers: Iterable[dict[str, Any]] = (),
    agents: Iterable[str | dict[str, Any]] = (),
    settings: dict[str, Any] | None = None,
    secrets: Iterable[dict[str, Any]] = (),
) -> LiveState:
    """A LiveState from API-shaped dicts (an agent given by id alone is an agent with no settings)."""
    return decode(
        numbers=[wire.PhoneNumberResponse.model_validate(n) for n in numbers],
        agents=[wire.AgentResponse.model_validate({"agent_id": a} if isinstance(a, str) else a) for a in agents],
        settings=wire.SettingsResponse.model_validate(settings) if settings is not None else None,
        secrets=[wire.SecretResponse.model_validate(s) for s in secrets],
    )


async def plan_and_apply(
    client: ElevenLabsClient,
    manifest: Manifest,
    resolve: Callable[[str], str],
    options: Options | None = None,
    progress: Any = None,
) -> tuple[Plan, ApplyReport]:
    live, planned = await observe_and_plan(manifest, client, options)
    return planned, await execute(client, planned, live, resolve, progress)


def resolver(environ: Mapping[str, str]) -> Callable[[str], str]:
    from provisioner import grammar

    return lambda value: grammar.resolve_references(value, environ)
