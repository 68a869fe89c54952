"""Observe: read, concurrently, only what the manifest needs from the live workspace.

That is every phone number (ownership needs the full list to report unmanaged numbers), each
declared agent, the workspace settings when the manifest manages the workspace webhook, and the
workspace secrets when any webhook is managed (to resolve `secret_id` references and to find the
tool's own secrets by name). The raw JSON is kept: apply needs it to merge per-key maps, and the
planner maps it into manifest models through `provisioner.mapping`.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field
from typing import Any

from provisioner.client import ApiError, ElevenLabsClient
from provisioner.manifest import Manifest

log = logging.getLogger(__name__)


class AgentMissing(Exception):
    def __init__(self, alias: str, agent_id: str) -> None:
        self.alias = alias
        self.agent_id = agent_id
        super().__init__(
            f"agent {alias!r} ({agent_id}) does not exist in the workspace: check its id in the manifest, "
            "and that ELEVENLABS_API_KEY and the API URL are for the workspace that has it"
        )


@dataclass
class LiveState:
    numbers: list[dict[str, Any]] = field(default_factory=list)
    agents: dict[str, dict[str, Any]] = field(default_factory=dict)  # agent id -> GET body
    settings: dict[str, Any] | None = None
    secrets: list[dict[str, Any]] = field(default_factory=list)

    def secret_names(self) -> dict[str, str]:
        return {str(s.get("secret_id")): str(s.get("name")) for s in self.secrets}

    def secret_ids(self) -> dict[str, str]:
        return {str(s.get("name")): str(s.get("secret_id")) for s in self.secrets}


def needs_settings(manifest: Manifest) -> bool:
    return manifest.declares("pre_call_webhook")


def needs_secrets(manifest: Manifest) -> bool:
    return needs_settings(manifest) or any(a.pre_call_webhook is not None for a in manifest.agents.values())


async def observe(manifest: Manifest, client: ElevenLabsClient) -> LiveState:
    state = LiveState()

    async def agent(alias: str, agent_id: str) -> None:
        try:
            state.agents[agent_id] = await client.get_agent(agent_id)
        except ApiError as exc:
            if exc.status == 404:
                raise AgentMissing(alias, agent_id) from exc
            raise

    async def numbers() -> None:
        state.numbers = await client.list_phone_numbers()

    async def settings() -> None:
        state.settings = await client.get_settings()

    async def secrets() -> None:
        state.secrets = await client.list_secrets()

    jobs = [numbers()]
    seen: set[str] = set()
    for alias, declared in manifest.agents.items():
        if declared.id not in seen:
            seen.add(declared.id)
            jobs.append(agent(alias, declared.id))
    if needs_settings(manifest):
        jobs.append(settings())
    if needs_secrets(manifest):
        jobs.append(secrets())
    try:
        # A TaskGroup cancels the other reads when one fails, so nothing is left running.
        async with asyncio.TaskGroup() as group:
            for job in jobs:
                group.create_task(job)
    except ExceptionGroup as failed:
        raise failed.exceptions[0] from None
    log.debug("observe: numbers=%d agents=%d", len(state.numbers), len(state.agents))
    return state
