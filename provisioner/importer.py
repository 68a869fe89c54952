"""`telephony import`: the live workspace (decoded, `provisioner.api.live.Snapshot`) → manifest text.

Every phone number with its provider, label and agent; the SIP trunk settings of numbers folded
into named `sip_trunks` (numbers with identical settings share one trunk); the agents read (those
assigned to a number, or all) with their telephony settings; the workspace pre-call webhook.

Values the API never returns (Twilio credentials, SIP passwords, the value of a secret the tool
created) become `${VAR}` references with suggested names, listed in `Imported.variables`. What the
manifest cannot express (Exotel numbers, `env_var_label` headers, branch or environment
assignments) is left out and listed in `Imported.left_out`. Both lists also end the file as
comments. The text is checked against the manifest models before it is returned.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import yaml

from provisioner.api.live import ImportedAgent, LiveNumber, Snapshot
from provisioner.manifest import Manifest
from provisioner.schema_url import MODELINE
from provisioner.state import (
    WORKSPACE_SCOPE,
    CredentialsState,
    ForeignHeader,
    InboundState,
    OutboundState,
    RuleState,
    SecretRef,
    TrunkState,
    WebhookState,
    is_tool_secret,
    secret_name,
)

SCHEMA_MODELINE = MODELINE  # the published schema: an adopter's repo has no schemas/ folder
PROVIDERS = ("twilio", "sip_trunk")


@dataclass
class Imported:
    text: str
    variables: list[tuple[str, str]] = field(default_factory=list)  # (NAME, what it is for)
    left_out: list[str] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)


# -- names ----------------------------------------------------------------------------------------


def slug(text: str) -> str:
    """`pbx.example.com:5060` → `pbx-example-com-5060`; lower case letters, digits and single dashes."""
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


def unique(base: str, used: set[str]) -> str:
    """`base`, else `base-2`, `base-3`... (and remember it)."""
    name, n = base, 1
    while name in used:
        n += 1
        name = f"{base}-{n}"
    used.add(name)
    return name


def env_name(*parts: str) -> str:
    """A `${VAR}` name from parts: `pbx-example-com`, `outbound password` → `PBX_EXAMPLE_COM_OUTBOUND_PASSWORD`."""
    name = "_".join(re.sub(r"[^A-Za-z0-9]+", "_", p).strip("_").upper() for p in parts if p)
    return name if re.match(r"[A-Z_]", name) else f"V_{name}"


def _host(address: str) -> str:
    host = address.strip()
    if host.startswith("["):  # [IPv6]:port
        return host[1 : host.find("]")] if "]" in host else host
    return host.rsplit(":", 1)[0] if host.count(":") == 1 else host


def trunk_base_name(trunk: TrunkState) -> str:
    """The name a trunk is known by: its outbound host, else its first allowed address."""
    if trunk.outbound is not None and trunk.outbound.address.strip():
        base = slug(_host(trunk.outbound.address))
    elif trunk.inbound is not None and trunk.inbound.allowed_addresses:
        base = slug(trunk.inbound.allowed_addresses[0])
    else:
        base = "sip-trunk"
    if not base:
        base = "sip-trunk"
    return base if base[0].isalpha() else f"trunk-{base}"


def _trunk_key(trunk: TrunkState) -> str:
    return json.dumps(trunk.view(), sort_keys=True)


def fold_trunks(numbers: Iterable[tuple[str, TrunkState]]) -> tuple[dict[str, str], dict[str, TrunkState]]:
    """Numbers (E.164, trunk) → (E.164 → trunk name, trunk name → trunk).

    Numbers whose trunk settings compare equal (`TrunkState.view`) share one trunk. Names come
    from the address and are unique (`pbx-example-com`, `pbx-example-com-2`); they are assigned in
    the order of each trunk's lowest number, so the same workspace always gets the same names.
    """
    groups: dict[str, list[str]] = {}
    trunks: dict[str, TrunkState] = {}
    for e164, trunk in numbers:
        key = _trunk_key(trunk)
        groups.setdefault(key, []).append(e164)
        trunks.setdefault(key, trunk)
    used: set[str] = set()
    by_number: dict[str, str] = {}
    named: dict[str, TrunkState] = {}
    for key in sorted(groups, key=lambda k: (min(groups[k]), k)):
        name = unique(trunk_base_name(trunks[key]), used)
        named[name] = trunks[key]
        for e164 in groups[key]:
            by_number[e164] = name
    return by_number, named


# -- values ---------------------------------------------------------------------------------------


class _Builder:
    def __init__(self) -> None:
        self.variables: dict[str, str] = {}
        self.left_out: list[str] = []

    def variable(self, name: str, purpose: str) -> str:
        self.variables.setdefault(name, purpose)
        return "${" + name + "}"

    # trunks

    def credentials(self, creds: CredentialsState | None, trunk: str, side: str) -> dict[str, Any] | None:
        if creds is None:
            return None
        if not creds.username:
            self.left_out.append(f"sip_trunks.{trunk}.{side}: credentials without a user name")
            return None
        purpose = f"the {side} SIP password of trunk {trunk} (user {creds.username})"
        return {"username": creds.username, "password": self.variable(env_name(trunk, side, "password"), purpose)}

    def outbound(self, side: OutboundState, trunk: str) -> dict[str, Any]:
        out: dict[str, Any] = {"address": side.address}
        if side.transport.lower() != "auto":
            out["transport"] = side.transport.lower()
        if side.media_encryption.lower() != "allowed":
            out["media_encryption"] = side.media_encryption.lower()
        if side.headers:
            out["headers"] = dict(side.headers)
        if side.attributes_to_headers:
            out["attributes_to_headers"] = dict(side.attributes_to_headers)
        if side.codecs:
            out["codecs"] = list(side.codecs)
        creds = self.credentials(side.credentials, trunk, "outbound")
        if creds:
            out["credentials"] = creds
        return out

    def inbound(self, side: InboundState, trunk: str) -> dict[str, Any]:
        out: dict[str, Any] = {"allowed_addresses": list(side.allowed_addresses)}
        if side.allowed_numbers is not None:
            out["allowed_numbers"] = list(side.allowed_numbers)
        if side.media_encryption.lower() != "allowed":
            out["media_encryption"] = side.media_encryption.lower()
        creds = self.credentials(side.credentials, trunk, "inbound")
        if creds:
            out["credentials"] = creds
        if side.remote_domains is not None:
            out["remote_domains"] = list(side.remote_domains)
        if side.attributes_to_headers:
            out["attributes_to_headers"] = dict(side.attributes_to_headers)
        return out

    def trunk(self, name: str, trunk: TrunkState) -> dict[str, Any]:
        out: dict[str, Any] = {}
        if trunk.static_ip:
            out["static_ip"] = True
        if not trunk.store_sip_messages:
            out["store_sip_messages"] = False
        if trunk.outbound is not None:
            out["outbound"] = self.outbound(trunk.outbound, name)
        if trunk.inbound is not None:
            out["inbound"] = self.inbound(trunk.inbound, name)
        return out

    # webhooks

    def webhook(self, hook: WebhookState, scope: str, owner: str) -> dict[str, Any]:
        """`owner`: how the variable names start (PRE_CALL_WEBHOOK, SUPPORT_WEBHOOK)."""
        headers: dict[str, Any] = {}
        for header, value in hook.headers:
            if isinstance(value, SecretRef):
                if is_tool_secret(value.secret):
                    if value.secret != secret_name(scope, header):
                        self.left_out.append(
                            f"{owner}: header {header} uses the tool's secret {value.secret}, made for another "
                            f"webhook; the manifest stores it as {secret_name(scope, header)} (plan creates it)"
                        )
                    purpose = f"the value of header {header} of {owner} (workspace secret {value.secret})"
                    headers[header] = self.variable(env_name(owner, header), purpose)
                else:
                    headers[header] = {"secret": value.secret}
            elif isinstance(value, ForeignHeader):  # callers leave such webhooks out whole
                continue
            else:
                headers[header] = value.replace("${", "$${")
        out: dict[str, Any] = {"url": hook.url}
        if headers:
            out["headers"] = headers
        return out

    # agents

    @staticmethod
    def rule(rule: RuleState) -> dict[str, Any]:
        out: dict[str, Any] = {"to": rule.to}
        if rule.type != "conference":
            out["type"] = rule.type
        out["condition"] = rule.condition
        if rule.wait_message is not None:
            out["wait_message"] = rule.wait_message
        if rule.handoff_message is not None:
            out["handoff_message"] = rule.handoff_message
        if rule.sip_headers:
            out["sip_headers"] = dict(rule.sip_headers)
        if rule.post_dial_digits is not None:
            out["post_dial_digits"] = rule.post_dial_digits
        if rule.uui is not None:
            uui: dict[str, Any] = {"data": rule.uui.data}
            if rule.uui.protocol_discriminator is not None:
                uui["protocol_discriminator"] = rule.uui.protocol_discriminator
            if rule.uui.mode != "prefix":
                uui["mode"] = rule.uui.mode
            out["uui"] = uui
        if not rule.play_dialtone:
            out["play_dialtone"] = False
        return out

    def agent(self, alias: str, agent: ImportedAgent, foreign_webhook: bool) -> dict[str, Any]:
        state = agent.state
        out: dict[str, Any] = {"id": agent.agent_id}
        hook = state.pre_call_webhook
        if foreign_webhook and isinstance(hook, WebhookState):
            self.left_out.append(
                f"agents.{alias}.pre_call_webhook: a header from an env var label or an unknown secret "
                "(the whole webhook is left out: not managed)"
            )
        elif isinstance(hook, WebhookState):
            out["pre_call_webhook"] = self.webhook(hook, agent.agent_id, f"{alias} webhook")
        elif hook is True:
            out["pre_call_webhook"] = True
        if state.placeholders:
            out["dynamic_variables"] = dict(state.placeholders)
        if state.overrides:
            out["overrides"] = list(state.overrides)
        if state.transfers:
            out["transfers"] = [self.rule(r) for r in state.transfers]
        return out


def _agent_aliases(agents: list[ImportedAgent]) -> dict[str, str]:
    used: set[str] = set()
    found: dict[str, str] = {}
    for agent in sorted(agents, key=lambda a: (slug(a.name or ""), a.agent_id)):
        base = slug(agent.name or "") or "agent"
        found[agent.agent_id] = unique(base if base[0].isalpha() else f"agent-{base}", used)
    return found


def _number_aliases(numbers: list[LiveNumber]) -> dict[str, str]:
    used: set[str] = set()
    found: dict[str, str] = {}
    for number in sorted(numbers, key=lambda n: n.state.key):
        base = slug(number.state.label) or "number"
        found[number.phone_number_id] = unique(base if base[0].isalpha() else f"number-{base}", used)
    return found


# -- the manifest ---------------------------------------------------------------------------------


def build(snapshot: Snapshot) -> Imported:
    """The manifest text for `snapshot`, checked against the manifest models."""
    builder = _Builder()
    numbers = [n for n in snapshot.numbers if n.state.provider in PROVIDERS]
    for other in snapshot.numbers:
        if other.state.provider not in PROVIDERS:
            builder.left_out.append(f"{other.state.key}: a {other.state.provider} number (not in the manifest format)")
    agents = _agent_aliases(snapshot.agents)
    for agent_id in snapshot.missing_agents:
        builder.left_out.append(f"agent {agent_id}: assigned to a number but not found (its numbers keep no agent)")

    data: dict[str, Any] = {"version": 1}
    comments: dict[str, str] = {}
    hook = snapshot.webhook
    if hook is not None and snapshot.foreign_webhook:
        builder.left_out.append(
            "pre_call_webhook: a header from an env var label or an unknown secret (left out: not managed)"
        )
    elif hook is not None:
        data["pre_call_webhook"] = builder.webhook(hook, WORKSPACE_SCOPE, "pre_call_webhook")
        comments["pre_call_webhook"] = "The workspace pre-call webhook (agents with pre_call_webhook: true call it)."

    imported_agents: dict[str, Any] = {}
    for agent in sorted(snapshot.agents, key=lambda a: agents[a.agent_id]):
        alias = agents[agent.agent_id]
        imported_agents[alias] = builder.agent(alias, agent, agent.agent_id in snapshot.foreign_agent_webhooks)
    if imported_agents:
        data["agents"] = imported_agents
        comments["agents"] = "Agents are authored elsewhere; only their telephony settings are managed here."

    sip = [(n.state.key, n.state.trunk or TrunkState()) for n in numbers if n.state.provider == "sip_trunk"]
    trunk_of, trunks = fold_trunks(sip)
    if trunks:
        data["sip_trunks"] = {name: builder.trunk(name, trunk) for name, trunk in trunks.items()}
        comments["sip_trunks"] = "SIP trunks: numbers with identical trunk settings share one."

    aliases = _number_aliases(numbers)
    twilio_numbers = [n.state.key for n in numbers if n.state.provider == "twilio"]
    imported_numbers: dict[str, Any] = {}
    for number in sorted(numbers, key=lambda n: aliases[n.phone_number_id]):
        state = number.state
        entry: dict[str, Any] = {"number": state.key, "label": state.label, "provider": state.provider}
        if state.provider == "twilio":
            twilio: dict[str, Any] = {
                "account_sid": builder.variable(
                    "TWILIO_ACCOUNT_SID", f"the Account SID of the Twilio account of {', '.join(twilio_numbers)}"
                ),
                "auth_token": builder.variable("TWILIO_AUTH_TOKEN", "that Twilio account's auth token"),
            }
            if state.caller_id_only:
                twilio["caller_id_only"] = True
            entry["twilio"] = twilio
        else:
            entry["sip_trunk"] = trunk_of[state.key]
        if state.agent_id and state.agent_id in agents:
            entry["agent"] = agents[state.agent_id]
        binding = snapshot.bindings.get(number.phone_number_id)
        if binding is not None:
            what = ", ".join(
                f"{k} {v}" for k, v in (("branch_id", binding.branch_id), ("environment", binding.environment)) if v
            )
            builder.left_out.append(f"phone_numbers.{aliases[number.phone_number_id]}: the assignment's {what}")
        imported_numbers[aliases[number.phone_number_id]] = entry
    if imported_numbers:
        data["phone_numbers"] = imported_numbers
        comments["phone_numbers"] = "Phone numbers, by alias (the E.164 number is each one's identity)."
    if len(twilio_numbers) > 1:
        builder.left_out.append(
            "Twilio numbers share TWILIO_ACCOUNT_SID/TWILIO_AUTH_TOKEN: the API does not say which account owns "
            "each; give numbers of other accounts variables of their own"
        )

    text = _emit(data, comments, builder.variables, builder.left_out)
    Manifest.model_validate(yaml.safe_load(text))  # a bug here must not write a file validate refuses
    counts = {
        "numbers": len(imported_numbers),
        "agents": len(imported_agents),
        "sip_trunks": len(trunks),
    }
    return Imported(text, sorted(builder.variables.items()), builder.left_out, counts)


def _dump(value: Any) -> str:
    return yaml.safe_dump(value, sort_keys=False, allow_unicode=True, default_flow_style=False, width=100)


def _emit(data: dict[str, Any], comments: dict[str, str], variables: dict[str, str], left_out: list[str]) -> str:
    lines = [
        SCHEMA_MODELINE,
        "#",
        "# Imported from the live workspace by `telephony import`. Review it, set the ${VAR}s listed at the",
        "# end where plan and apply run, then `telephony plan` should say: No changes.",
    ]
    for key, value in data.items():
        lines.append("")
        if key in comments:
            lines.append(f"# {comments[key]}")
        lines.append(_dump({key: value}).rstrip("\n"))
    if variables:
        lines += ["", "# Variables to set where plan and apply run (the API never returns these values):"]
        lines += [f"#   {name}: {purpose}" for name, purpose in sorted(variables.items())]
    if left_out:
        lines += ["", "# Left out (the manifest cannot express it, or import could not tell):"]
        lines += [f"#   {item}" for item in left_out]
    return "\n".join(lines) + "\n"
