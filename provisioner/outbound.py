"""Outbound calls and batch calls from the manifest's numbers: the library under `telephony call`
and `telephony batch`.

Everything that can be known before a call or a batch is sent is checked first, and a problem is
an `OutboundError` (one line, nothing sent): an undeclared number or agent, a bad destination, a
number not imported yet (looked up live by E.164), a SIP number without an outbound trunk, a CSV
with bad rows. Nothing here prints.

    async with ElevenLabsClient(url, key) as client:
        result = await outbound.place_call(manifest, client, "support-line", "+14155550123")
"""

from __future__ import annotations

import difflib
from collections import Counter
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from provisioner import grammar
from provisioner.api import calls, wire_calls
from provisioner.api.client import ElevenLabsClient
from provisioner.api.wire import AgentResponse
from provisioner.batches import OVERRIDE_COLUMNS, AgentVariables, CsvCheck, check_csv
from provisioner.errors import TelephonyError
from provisioner.manifest import Agent, Manifest, PhoneNumber, SipTrunkNumber

PROVIDERS = ("twilio", "sip_trunk")


class OutboundError(TelephonyError):
    """A call or batch that cannot be sent as asked; nothing was sent."""


class CsvInvalid(OutboundError):
    """The CSV has errors (the located problems are in `check`); nothing was sent."""

    def __init__(self, check: CsvCheck) -> None:
        self.check = check
        super().__init__(f"{check.file}: {check.error_count} error(s); nothing was sent")


@dataclass(frozen=True)
class Caller:
    """A declared number resolved against the workspace, and the agent that talks."""

    alias: str
    e164: str
    provider: str
    phone_number_id: str
    agent_alias: str
    agent_id: str


@dataclass(frozen=True)
class CallResult:
    caller: Caller
    to: str
    conversation_id: str | None
    call_sid: str | None  # Twilio
    sip_call_id: str | None  # SIP trunk
    message: str

    def as_json(self) -> dict[str, Any]:
        return {
            "conversation_id": self.conversation_id,
            "call_sid": self.call_sid,
            "sip_call_id": self.sip_call_id,
            "provider": self.caller.provider,
            "from": {"alias": self.caller.alias, "phone_number": self.caller.e164},
            "to": self.to,
            "agent": {"alias": self.caller.agent_alias, "agent_id": self.caller.agent_id},
            "message": self.message,
        }


# -- resolving a declared number and its agent --------------------------------------------------


def _suggest(name: str, choices: list[str]) -> str:
    close = difflib.get_close_matches(name, choices, n=1)
    if close:
        return f"; did you mean '{close[0]}'?"
    return f" (declared: {', '.join(sorted(choices))})" if choices else " (the manifest declares none)"


def declared_number(manifest: Manifest, name: str) -> tuple[str, PhoneNumber]:
    """The number declared as `name` (its key under phone_numbers:, or its E.164 number)."""
    if name in manifest.phone_numbers:
        return name, manifest.phone_numbers[name]
    for alias, number in manifest.phone_numbers.items():
        if grammar.normalise_e164(number.number) == name:
            return alias, number
    raise OutboundError(
        f"phone number '{name}' is not declared in the manifest{_suggest(name, list(manifest.phone_numbers))}"
    )


def choose_agent(manifest: Manifest, alias: str, number: PhoneNumber, agent: str | None) -> tuple[str, Agent]:
    """`agent` (an alias under agents:) or else the number's assigned agent."""
    if agent is not None:
        if agent not in manifest.agents:
            raise OutboundError(
                f"agent '{agent}' is not declared in the manifest{_suggest(agent, list(manifest.agents))}"
            )
        return agent, manifest.agents[agent]
    if number.agent is None:
        raise OutboundError(f"phone number '{alias}' has no agent assigned; name one with --agent ALIAS")
    if number.agent not in manifest.agents:
        raise OutboundError(f"phone number '{alias}': its agent '{number.agent}' is not declared under agents:")
    return number.agent, manifest.agents[number.agent]


def check_destination(to: str) -> str:
    if not grammar.is_e164(to):
        raise OutboundError(f"destination {grammar.e164_problem(to)}")
    return to


def _check_declared_outbound(manifest: Manifest, alias: str, number: PhoneNumber) -> None:
    if isinstance(number, SipTrunkNumber):
        trunk = manifest.sip_trunks.get(number.sip_trunk)
        if trunk is None or trunk.outbound is None:
            raise OutboundError(
                f"phone number '{alias}' cannot call out: its SIP trunk '{number.sip_trunk}' has no outbound: block"
            )


async def resolve_caller(manifest: Manifest, client: ElevenLabsClient, name: str, agent: str | None = None) -> Caller:
    """Check the declared number and agent, then find the number in the workspace by E.164."""
    alias, number = declared_number(manifest, name)
    agent_alias, declared_agent = choose_agent(manifest, alias, number, agent)
    _check_declared_outbound(manifest, alias, number)
    e164 = grammar.normalise_e164(number.number)
    live = await client.find_phone_number(e164)
    if live is None:
        raise OutboundError(
            f"phone number '{alias}' ({e164}) is not imported into the workspace yet; run `telephony apply` first"
        )
    if live.provider not in PROVIDERS:
        raise OutboundError(
            f"phone number '{alias}' ({e164}) is a {live.provider} number; "
            "only Twilio and SIP trunk numbers can call out here"
        )
    if live.provider != number.provider:
        raise OutboundError(
            f"phone number '{alias}' ({e164}) is a {live.provider} number in the workspace but {number.provider} "
            "in the manifest; run `telephony plan`"
        )
    if live.provider == "sip_trunk" and (live.outbound_trunk is None or not live.outbound_trunk.address):
        raise OutboundError(
            f"phone number '{alias}' ({e164}) has no outbound trunk in the workspace yet; run `telephony apply` first"
        )
    if live.supports_outbound is False:
        raise OutboundError(f"phone number '{alias}' ({e164}) does not support outbound calls in the workspace")
    return Caller(alias, e164, live.provider, live.phone_number_id, agent_alias, declared_agent.id)


# -- one call -----------------------------------------------------------------------------------


def check_variables(variables: Mapping[str, str]) -> dict[str, str]:
    for name in variables:
        if name.startswith("system__"):
            raise OutboundError(f"--var {name}: the system__ prefix is reserved for the platform's own variables")
        if not grammar.is_variable_name(name):
            raise OutboundError(f"--var {name}: not a dynamic variable name (letters, digits, _ . -)")
    return dict(variables)


async def place_call(
    manifest: Manifest,
    client: ElevenLabsClient,
    number: str,
    to: str,
    *,
    agent: str | None = None,
    variables: Mapping[str, str] | None = None,
) -> CallResult:
    """One outbound call from the declared `number` to `to`; raises before sending when it cannot work."""
    check_destination(to)
    values = check_variables(variables or {})
    caller = await resolve_caller(manifest, client, number, agent)
    data = wire_calls.ClientData(dynamic_variables=values) if values else None
    fields: dict[str, Any] = {
        "agent_id": caller.agent_id,
        "agent_phone_number_id": caller.phone_number_id,
        "to_number": to,
    }
    if data is not None:
        fields["conversation_initiation_client_data"] = data
    request = wire_calls.OutboundCallRequest(**fields)
    if caller.provider == "twilio":
        twilio = await calls.twilio_call(client, request)
        success, message, conversation, sid, sip = (
            twilio.success,
            twilio.message,
            twilio.conversation_id,
            twilio.call_sid,
            None,
        )
    else:
        trunk = await calls.sip_trunk_call(client, request)
        success, message, conversation, sid, sip = (
            trunk.success,
            trunk.message,
            trunk.conversation_id,
            None,
            trunk.sip_call_id,
        )
    if not success:
        raise OutboundError(f"the call from '{caller.alias}' to {to} failed: {message or 'no reason given'}")
    return CallResult(caller, to, conversation, sid, sip, message)


# -- batches ------------------------------------------------------------------------------------


def _agent_texts(agent: Agent) -> Iterator[str]:
    for rule in agent.transfers or []:
        yield from (rule.to, rule.condition, rule.wait_message or "", rule.handoff_message or "")
        yield from rule.sip_headers.values()
        yield rule.post_dial_digits or ""


def _dig(tree: Any, *path: str) -> Any:
    for key in path:
        tree = tree.get(key) if isinstance(tree, dict) else None
    return tree


def agent_variables(agent: Agent, live: AgentResponse | None) -> AgentVariables:
    """The variables the agent uses (manifest transfers; live prompt and first message) and has
    defaults for (manifest and live placeholders), and the overrides the manifest allows."""
    used = {name for text in _agent_texts(agent) for name in grammar.variable_names(text)}
    defaults = {name for name, value in (agent.dynamic_variables or {}).items() if value is not None}
    if live is not None:
        config = live.conversation_config
        for text in (_dig(config, "agent", "first_message"), _dig(config, "agent", "prompt", "prompt")):
            if isinstance(text, str):
                used.update(grammar.variable_names(text))
        placeholders = _dig(config, "agent", "dynamic_variables", "dynamic_variable_placeholders")
        if isinstance(placeholders, dict):
            defaults.update(k for k, v in placeholders.items() if v is not None)
    used -= grammar.SYSTEM_VARIABLES
    overrides = None if agent.overrides is None else frozenset(agent.overrides)
    return AgentVariables(frozenset(used), frozenset(defaults), overrides)


@dataclass(frozen=True)
class PreparedBatch:
    caller: Caller
    check: CsvCheck
    request: wire_calls.SubmitBatchRequest


def _client_data(variables: dict[str, str], overrides: dict[str, str]) -> wire_calls.ClientData | None:
    fields: dict[str, Any] = {}
    if variables:
        fields["dynamic_variables"] = variables
    if overrides:
        tree: dict[str, Any] = {}
        for column, value in overrides.items():
            *parents, leaf = OVERRIDE_COLUMNS[column]
            node = tree
            for key in parents:
                node = node.setdefault(key, {})
            node[leaf] = value
        fields["conversation_config_override"] = tree
    return wire_calls.ClientData(**fields) if fields else None


def build_recipient(phone: str, variables: dict[str, str], overrides: dict[str, str]) -> wire_calls.BatchRecipient:
    data = _client_data(variables, overrides)
    if data is None:
        return wire_calls.BatchRecipient(phone_number=phone)
    return wire_calls.BatchRecipient(phone_number=phone, conversation_initiation_client_data=data)


async def prepare_batch(
    manifest: Manifest,
    client: ElevenLabsClient,
    number: str,
    csv_path: Path,
    *,
    name: str,
    agent: str | None = None,
    scheduled_time_unix: int | None = None,
) -> PreparedBatch:
    """Resolve the number and agent (read-only API calls), check every CSV row and build the
    request. Raises `CsvInvalid` (with every located problem) when any row is wrong."""
    caller = await resolve_caller(manifest, client, number, agent)
    declared = manifest.agents[caller.agent_alias]
    live = await client.get_agent(caller.agent_id)
    check = check_csv(csv_path, agent_variables(declared, live))
    if not check.ok:
        raise CsvInvalid(check)
    fields: dict[str, Any] = {
        "call_name": name,
        "agent_id": caller.agent_id,
        "agent_phone_number_id": caller.phone_number_id,
        "recipients": [build_recipient(r.phone_number, r.variables, r.overrides) for r in check.recipients],
    }
    if scheduled_time_unix is not None:
        fields["scheduled_time_unix"] = scheduled_time_unix
    return PreparedBatch(caller, check, wire_calls.SubmitBatchRequest(**fields))


async def submit_batch(client: ElevenLabsClient, prepared: PreparedBatch) -> wire_calls.BatchCallResponse:
    return await calls.submit_batch(client, prepared.request)


def recipient_counts(batch: wire_calls.BatchCallDetailedResponse) -> dict[str, int]:
    """Recipients per status, in the API's status order (statuses with none left out)."""
    counts: Counter[str] = Counter(r.status for r in batch.recipients)
    return {status: counts[status] for status in wire_calls.RECIPIENT_STATUSES if counts[status]}
