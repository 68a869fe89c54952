"""Observe: read, concurrently, only what a plan needs from the live workspace, and decode it.

That is every phone number (ownership needs the full list to report unmanaged numbers), each
declared agent, the workspace settings when the workspace webhook is managed, and the workspace
secrets when any webhook is managed (to resolve `secret_id` references and to find the tool's own
secrets by name). `LiveState` holds decoded values only; an agent's raw sections stay inside this
package and are decoded per scope on request.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable
from dataclasses import dataclass, field

from provisioner.api import codec, wire
from provisioner.api.client import ApiError, ElevenLabsClient
from provisioner.state import AgentScope, AgentState, ForeignHeader, NumberState, WebhookState

log = logging.getLogger(__name__)


class AgentMissing(ApiError):
    """A declared agent does not exist in the workspace the key reaches."""

    def __init__(self, alias: str, agent_id: str) -> None:
        super().__init__("GET", f"/v1/convai/agents/{agent_id}", 404, "not found")
        self.alias = alias
        self.agent_id = agent_id
        self.args = (
            f"agent {alias!r} ({agent_id}) does not exist in the workspace: check its id in the manifest, "
            "and that the API key (ELEVENLABS_API_KEY, or the environment's api_key_env) and the API URL are for "
            "the workspace that has it",
        )

    def __str__(self) -> str:
        return str(self.args[0])


@dataclass(frozen=True)
class LiveNumber:
    phone_number_id: str
    state: NumberState


@dataclass(frozen=True)
class LiveSecret:
    secret_id: str
    name: str


@dataclass
class LiveState:
    numbers: list[LiveNumber] = field(default_factory=list)  # in the order the API listed them
    secrets: list[LiveSecret] = field(default_factory=list)
    webhook: WebhookState | None = None  # the workspace webhook (when settings were read)
    default_stack: str | None = None  # the workspace's default_livekit_stack (when settings were read)
    _agents: dict[str, wire.AgentResponse] = field(default_factory=dict)
    _referenced: set[str] = field(default_factory=set)  # secret ids a webhook header points at

    def secret_ids(self) -> dict[str, str]:
        """Name → id. When a name repeats, the copy a webhook references, else the first listed."""
        found: dict[str, str] = {}
        for secret in self.secrets:
            if secret.name not in found or (
                secret.secret_id in self._referenced and found[secret.name] not in self._referenced
            ):
                found[secret.name] = secret.secret_id
        return found

    def duplicate_secrets(self) -> list[LiveSecret]:
        """Copies of a name other than the one `secret_ids` keeps."""
        kept = set(self.secret_ids().values())
        return [s for s in self.secrets if s.secret_id not in kept]

    def _note_references(self, hook: wire.WebhookWire | None) -> None:
        if hook is not None:
            self._referenced |= {
                v.secret_id for v in hook.request_headers.values() if isinstance(v, wire.SecretReference)
            }

    def _note_agent_references(self) -> None:
        for agent in self._agents.values():
            raw = codec.agent_webhook(agent)
            if raw is not None:
                self._note_references(raw)

    def secret_names(self) -> dict[str, str]:
        return {s.secret_id: s.name for s in self.secrets}

    def has_agent(self, agent_id: str) -> bool:
        return agent_id in self._agents

    def agent(self, agent_id: str, scope: AgentScope) -> AgentState:
        """The managed fields of a read agent (an agent not read decodes as empty)."""
        raw = self._agents.get(agent_id) or wire.AgentResponse(agent_id=agent_id)
        return codec.decode_agent(raw, scope, self.secret_names())


def decode(
    numbers: Iterable[wire.PhoneNumberResponse] = (),
    agents: Iterable[wire.AgentResponse] = (),
    settings: wire.SettingsResponse | None = None,
    secrets: Iterable[wire.SecretResponse] = (),
) -> LiveState:
    """A LiveState from wire models (what `observe` reads; tests and library users build one directly)."""
    state = LiveState(numbers=decode_numbers(numbers), secrets=[LiveSecret(s.secret_id, s.name) for s in secrets])
    state._agents = {a.agent_id: a for a in agents}
    state._note_agent_references()
    if settings is not None:
        state._note_references(settings.conversation_initiation_client_data_webhook)
        state.webhook = codec.decode_webhook(settings.conversation_initiation_client_data_webhook, state.secret_names())
        state.default_stack = settings.default_livekit_stack
    return state


def decode_numbers(items: Iterable[wire.PhoneNumberResponse]) -> list[LiveNumber]:
    return [LiveNumber(item.phone_number_id, codec.decode_number(item)) for item in items]


@dataclass(frozen=True)
class Needs:
    """What to read: declared agents (alias, id), and whether settings and secrets are needed."""

    agents: tuple[tuple[str, str], ...] = ()
    settings: bool = False
    secrets: bool = False


async def observe(client: ElevenLabsClient, needs: Needs) -> LiveState:
    state = LiveState()
    raw_numbers: list[wire.PhoneNumberResponse] = []
    settings: list[wire.SettingsResponse] = []
    # The number pages are a chain (each needs the previous page's cursor): the longest path. The
    # other reads share all but one request slot, so the next page never queues behind them.
    others = asyncio.Semaphore(max(1, client.parallelism - 1))

    async def agent(alias: str, agent_id: str) -> None:
        try:
            async with others:
                state._agents[agent_id] = await client.get_agent(agent_id)
        except ApiError as exc:
            if exc.status == 404:
                raise AgentMissing(alias, agent_id) from exc
            raise

    async def numbers() -> None:
        raw_numbers.extend(await client.list_phone_numbers())

    async def read_settings() -> None:
        async with others:
            settings.append(await client.get_settings())

    async def secrets() -> None:
        async with others:
            state.secrets = [LiveSecret(s.secret_id, s.name) for s in await client.list_secrets()]

    jobs = [numbers()]
    seen: set[str] = set()
    for alias, agent_id in needs.agents:
        if agent_id not in seen:
            seen.add(agent_id)
            jobs.append(agent(alias, agent_id))
    if needs.settings:
        jobs.append(read_settings())
    if needs.secrets:
        jobs.append(secrets())
    try:
        # A TaskGroup cancels the other reads when one fails, so nothing is left running.
        async with asyncio.TaskGroup() as group:
            for job in jobs:
                group.create_task(job)
    except ExceptionGroup as failed:
        raise failed.exceptions[0] from None
    state.numbers = decode_numbers(raw_numbers)
    state._note_agent_references()
    if settings:
        state._note_references(settings[0].conversation_initiation_client_data_webhook)
        state.webhook = codec.decode_webhook(
            settings[0].conversation_initiation_client_data_webhook, state.secret_names()
        )
        state.default_stack = settings[0].default_livekit_stack
    log.debug("observe: numbers=%d agents=%d", len(state.numbers), len(state._agents))
    return state


# -- the whole workspace, for `telephony import` ------------------------------------------------


@dataclass(frozen=True)
class NumberBinding:
    """What an assignment carries that the manifest cannot express."""

    branch_id: str | None = None
    environment: str | None = None


@dataclass(frozen=True)
class ImportedAgent:
    agent_id: str
    name: str | None
    state: AgentState  # every telephony field decoded (all placeholder keys)


@dataclass
class Snapshot:
    """Everything `telephony import` reads: decoded values only."""

    numbers: list[LiveNumber] = field(default_factory=list)
    bindings: dict[str, NumberBinding] = field(default_factory=dict)  # phone_number_id → branch/environment
    agents: list[ImportedAgent] = field(default_factory=list)
    missing_agents: list[str] = field(default_factory=list)  # assigned ids the API does not return
    webhook: WebhookState | None = None
    foreign_webhook: bool = False  # the workspace webhook holds a header the manifest cannot express
    foreign_agent_webhooks: set[str] = field(default_factory=set)  # agent ids, likewise
    secrets: list[LiveSecret] = field(default_factory=list)


def _foreign(hook: WebhookState | None) -> bool:
    return hook is not None and any(isinstance(v, ForeignHeader) for _, v in hook.headers)


async def snapshot(client: ElevenLabsClient, *, all_agents: bool) -> Snapshot:
    """Read the numbers, the agents (those assigned to a number, or all), settings and secrets."""
    raw_numbers, settings, secrets = await asyncio.gather(
        client.list_phone_numbers(), client.get_settings(), client.list_secrets()
    )
    names = {s.secret_id: s.name for s in secrets}
    found = Snapshot(numbers=decode_numbers(raw_numbers), secrets=[LiveSecret(s.secret_id, s.name) for s in secrets])
    for item in raw_numbers:
        info = item.assigned_agent
        if info is not None and (info.branch_id or info.environment):
            found.bindings[item.phone_number_id] = NumberBinding(info.branch_id, info.environment)
    ids = [a.agent_id for a in await client.list_agents()] if all_agents else []
    for number in found.numbers:
        if number.state.agent_id and number.state.agent_id not in ids:
            ids.append(number.state.agent_id)

    async def read(agent_id: str) -> wire.AgentResponse | None:
        try:
            return await client.get_agent(agent_id)
        except ApiError as exc:
            if exc.status == 404:
                return None
            raise

    for agent_id, raw in zip(ids, await asyncio.gather(*(read(i) for i in ids)), strict=True):
        if raw is None:
            found.missing_agents.append(agent_id)
            continue
        scope = AgentScope(
            pre_call_webhook=True,
            placeholders=tuple(sorted(k for k, v in codec.live_placeholders(raw).items() if v is not None)),
            transfers=True,
            overrides=True,
        )
        state = codec.decode_agent(raw, scope, names)
        if _foreign(codec.decode_webhook(codec.agent_webhook(raw), names)):
            found.foreign_agent_webhooks.add(agent_id)
        found.agents.append(ImportedAgent(agent_id, raw.name, state))
    found.webhook = codec.decode_webhook(settings.conversation_initiation_client_data_webhook, names)
    found.foreign_webhook = _foreign(found.webhook)
    return found
