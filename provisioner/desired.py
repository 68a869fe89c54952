"""The desired side: manifest models → canonical values (`provisioner.state`).

The only module of the planner that reads the manifest's shape. Secret-bearing values stay `${VAR}`
reference text; webhook header values with a reference become `SecretRef`s named after their scope
and header, and literal header values lose their `$${` escapes (what the API will store).
"""

from __future__ import annotations

from dataclasses import dataclass

from provisioner import grammar
from provisioner.manifest import (
    Agent,
    Credentials,
    InboundTrunk,
    Manifest,
    OutboundTrunk,
    PhoneNumber,
    SecretName,
    SipTrunk,
    SipTrunkNumber,
    TransferRule,
    TwilioNumber,
    Webhook,
)
from provisioner.state import (
    WORKSPACE_SCOPE,
    AgentScope,
    AgentState,
    CredentialsState,
    HeaderValue,
    InboundState,
    NumberState,
    OutboundState,
    RuleState,
    SecretRef,
    TrunkState,
    TwilioRefs,
    UuiState,
    WebhookState,
    secret_name,
)


def _credentials(creds: Credentials | None) -> CredentialsState | None:
    return None if creds is None else CredentialsState(username=creds.username, password=creds.password)


def outbound(trunk: OutboundTrunk | None) -> OutboundState | None:
    if trunk is None:
        return None
    return OutboundState(
        address=trunk.address,
        transport=trunk.transport,
        media_encryption=trunk.media_encryption,
        headers=tuple(trunk.headers.items()),
        attributes_to_headers=tuple(trunk.attributes_to_headers.items()),
        codecs=tuple(trunk.codecs),
        credentials=_credentials(trunk.credentials),
    )


def inbound(trunk: InboundTrunk | None) -> InboundState | None:
    if trunk is None:
        return None
    return InboundState(
        allowed_addresses=tuple(trunk.allowed_addresses),
        allowed_numbers=tuple(trunk.allowed_numbers) if trunk.allowed_numbers is not None else None,
        media_encryption=trunk.media_encryption,
        credentials=_credentials(trunk.credentials),
        remote_domains=tuple(trunk.remote_domains) if trunk.remote_domains is not None else None,
        attributes_to_headers=tuple(trunk.attributes_to_headers.items()),
    )


def trunk(value: SipTrunk) -> TrunkState:
    return TrunkState(
        static_ip=value.static_ip,
        store_sip_messages=value.store_sip_messages,
        outbound=outbound(value.outbound),
        inbound=inbound(value.inbound),
    )


def header_value(scope: str, header: str, value: str | SecretName) -> HeaderValue:
    if isinstance(value, SecretName):  # an existing secret, by name: never created or rotated here
        return SecretRef(secret=value.secret)
    if grammar.has_reference(value):
        return SecretRef(secret=secret_name(scope, header))
    return grammar.resolve_references(value, {})  # no reference: only `$${` escapes to undo


def webhook(value: Webhook | None, scope: str) -> WebhookState | None:
    if value is None:
        return None
    headers = tuple((h, header_value(scope, h, v)) for h, v in value.headers.items())
    return WebhookState(url=value.url, headers=headers)


def webhook_secrets(value: Webhook | None, scope: str) -> dict[str, str]:
    """Secret name → the `${VAR}` text it stores, for one webhook."""
    if value is None:
        return {}
    return {
        secret_name(scope, h): v for h, v in value.headers.items() if isinstance(v, str) and grammar.has_reference(v)
    }


def webhook_secret_names(value: Webhook | None) -> dict[str, str]:
    """Header → the name of the existing workspace secret it uses (`{secret: NAME}`), for one webhook."""
    if value is None:
        return {}
    return {h: v.secret for h, v in value.headers.items() if isinstance(v, SecretName)}


def rule(value: TransferRule) -> RuleState:
    uui = value.uui
    return RuleState(
        to=grammar.canonical_destination(value.to),
        type=value.type,
        condition=value.condition,
        wait_message=value.wait_message,
        handoff_message=value.handoff_message,
        sip_headers=tuple(value.sip_headers.items()),
        post_dial_digits=value.post_dial_digits,
        uui=UuiState(data=uui.data, protocol_discriminator=uui.protocol_discriminator, mode=uui.mode) if uui else None,
        play_dialtone=value.play_dialtone,
    )


def agent_scope(agent: Agent) -> AgentScope:
    placeholders = agent.dynamic_variables
    return AgentScope(
        pre_call_webhook=agent.pre_call_webhook is not None,
        placeholders=tuple(sorted(placeholders)) if placeholders is not None else None,
        transfers=agent.transfers is not None,
        overrides=agent.overrides is not None,
    )


def agent(value: Agent) -> AgentState:
    hook = value.pre_call_webhook
    placeholders = value.dynamic_variables
    return AgentState(
        pre_call_webhook=webhook(hook, value.id) if isinstance(hook, Webhook) else hook,
        placeholders=tuple((k, v) for k, v in sorted(placeholders.items()) if v is not None)
        if placeholders is not None
        else None,
        transfers=tuple(rule(r) for r in value.transfers) if value.transfers is not None else None,
        overrides=tuple(value.overrides) if value.overrides is not None else None,
    )


def removed_placeholders(value: Agent) -> tuple[str, ...]:
    """Placeholder keys the manifest sets to null: to be removed when present."""
    return tuple(sorted(k for k, v in (value.dynamic_variables or {}).items() if v is None))


@dataclass(frozen=True)
class DesiredNumber:
    alias: str
    state: NumberState
    manages_agent: bool  # `agent:` left out is not managed; `agent: null` unassigns


def agent_ids(manifest: Manifest) -> dict[str, str]:
    """Agent alias → id."""
    return {alias: a.id for alias, a in manifest.agents.items()}


def aliases(manifest: Manifest) -> dict[str, str]:
    """Agent id → the first alias naming it (so two aliases of one agent compare equal)."""
    found: dict[str, str] = {}
    for alias, value in manifest.agents.items():
        found.setdefault(value.id, alias)
    return found


def number(manifest: Manifest, alias: str, value: PhoneNumber) -> DesiredNumber:
    declared = manifest.agents.get(value.agent) if value.agent else None
    # An alias the manifest does not declare (refused by validate) is kept as written.
    agent_id = declared.id if declared else value.agent
    common = {"number": value.number, "label": value.label, "provider": value.provider, "agent_id": agent_id}
    if isinstance(value, TwilioNumber):
        creds = value.twilio
        refs = TwilioRefs(
            account_sid=creds.account_sid, auth_token=creds.auth_token, account_auth_token=creds.account_auth_token
        )
        state = NumberState(**common, caller_id_only=creds.caller_id_only, twilio=refs)
    else:
        assert isinstance(value, SipTrunkNumber)
        declared_trunk = manifest.sip_trunks.get(value.sip_trunk)
        state = NumberState(**common, trunk=trunk(declared_trunk) if declared_trunk else None)
    return DesiredNumber(alias, state, "agent" in value.model_fields_set)


def workspace_webhook(manifest: Manifest) -> WebhookState | None:
    return webhook(manifest.pre_call_webhook, WORKSPACE_SCOPE)


def named_secrets(manifest: Manifest) -> list[tuple[str, str, str]]:
    """(where, header, secret name) for every header that uses an existing secret by name."""
    found: list[tuple[str, str, str]] = []
    if manifest.declares("pre_call_webhook"):
        for header, name in webhook_secret_names(manifest.pre_call_webhook).items():
            found.append(("pre_call_webhook", header, name))
    for alias, value in manifest.agents.items():
        if isinstance(value.pre_call_webhook, Webhook):
            for header, name in webhook_secret_names(value.pre_call_webhook).items():
                found.append((f"agents.{alias}.pre_call_webhook", header, name))
    return found


def secrets(manifest: Manifest) -> dict[str, str]:
    """Every tool-managed secret the manifest needs: name → the `${VAR}` text it stores."""
    names: dict[str, str] = {}
    if manifest.declares("pre_call_webhook"):
        names.update(webhook_secrets(manifest.pre_call_webhook, WORKSPACE_SCOPE))
    for value in manifest.agents.values():
        if isinstance(value.pre_call_webhook, Webhook):
            names.update(webhook_secrets(value.pre_call_webhook, value.id))
    return names
