"""Canonical values: what the tool manages about each resource, in one typed form for both sides.

The desired side is built from the manifest (`provisioner.desired`), the observed side is decoded
from the API (`provisioner.api.codec`); both are these frozen models, so the planner compares like
with like and never sees YAML or API JSON. `view()` turns a value into the plain-JSON picture that
plans show and diff: every normalisation (E.164, enum and host case, order-insensitive lists
sorted, empty-vs-null folded) happens there, once, through `provisioner.grammar`.

Write-only values (Twilio credentials, SIP passwords) travel as `${VAR}` reference text in
fields excluded from views: the API cannot return them, so comparing them would always differ.
Secret header values are `SecretRef`s, shown as markers, never as values.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict

from provisioner import grammar

View = dict[str, Any]
SECRET_NAME_PREFIX = grammar.TOOL_SECRET_PREFIX
WORKSPACE_SCOPE = "workspace"


class Marker(str):
    """A placeholder shown in place of a value (a secret reference, a masked value).

    Renderers print markers bare and every other string quoted, so a label that happens to read
    "(main line)" can never pass for a marker.
    """

    __slots__ = ()


SENSITIVE = Marker("(sensitive)")


class Value(BaseModel):
    """Base of every canonical value: immutable, no unknown keys."""

    model_config = ConfigDict(frozen=True, extra="forbid")


def secret_name(scope: str, header: str) -> str:
    """The workspace secret that stores a webhook header value: `telephony:<scope>:<header>`."""
    return f"{SECRET_NAME_PREFIX}{scope}:{header}"


def secret_scope(name: str) -> str:
    return name[len(SECRET_NAME_PREFIX) :].rsplit(":", 1)[0]


def is_tool_secret(name: str) -> bool:
    return name.startswith(SECRET_NAME_PREFIX)


class SecretRef(Value):
    """A header value stored in a workspace secret, known by the secret's name."""

    secret: str

    def marker(self) -> Marker:
        return Marker(f"(secret {self.secret})")


class ForeignHeader(Value):
    """A live header value the manifest cannot express (an unknown secret id, an env var label)."""

    shown: str

    def marker(self) -> Marker:
        return Marker(self.shown)


HeaderValue = SecretRef | ForeignHeader | str


def _header_view(value: HeaderValue) -> str:
    return value.marker() if isinstance(value, SecretRef | ForeignHeader) else value


class WebhookState(Value):
    url: str
    headers: tuple[tuple[str, HeaderValue], ...] = ()

    def view(self) -> View:
        return {"url": self.url.strip(), "headers": {h: _header_view(v) for h, v in sorted(self.headers)}}

    def secret_names(self) -> list[str]:
        return [v.secret for _, v in self.headers if isinstance(v, SecretRef)]


class CredentialsState(Value):
    username: str
    # `${VAR}` reference text on the desired side; None when observed (write-only) or not given.
    password: str | None = None

    def view(self) -> View:
        # Only the username can be read back; the password is write-only and never compared.
        return {"username": self.username}


def _credentials_view(creds: CredentialsState | None) -> View | None:
    return None if creds is None else creds.view()


class OutboundState(Value):
    address: str
    transport: str = "auto"
    media_encryption: str = "allowed"
    headers: tuple[tuple[str, str], ...] = ()
    attributes_to_headers: tuple[tuple[str, str], ...] = ()
    codecs: tuple[str, ...] = ()
    credentials: CredentialsState | None = None

    def view(self) -> View:
        return {
            "address": self.address.strip().lower(),
            "transport": self.transport.lower(),
            "media_encryption": self.media_encryption.lower(),
            "headers": dict(sorted(self.headers)),
            "attributes_to_headers": dict(sorted(self.attributes_to_headers)),
            # In order: the list is the SDP preference order (duplicates dropped).
            "codecs": list(dict.fromkeys(c.upper() for c in self.codecs)),
            "credentials": _credentials_view(self.credentials),
        }


def _sorted_or_none(values: tuple[str, ...] | None, key: Any = None) -> list[str] | None:
    if not values:
        return None
    return sorted({key(v) if key else v for v in values})


class InboundState(Value):
    allowed_addresses: tuple[str, ...] = ()
    allowed_numbers: tuple[str, ...] | None = None
    media_encryption: str = "allowed"
    credentials: CredentialsState | None = None
    remote_domains: tuple[str, ...] | None = None
    attributes_to_headers: tuple[tuple[str, str], ...] = ()

    def view(self) -> View:
        return {
            "allowed_addresses": sorted({a.strip().lower() for a in self.allowed_addresses}),
            "allowed_numbers": _sorted_or_none(self.allowed_numbers, grammar.normalise_e164),
            "media_encryption": self.media_encryption.lower(),
            "credentials": _credentials_view(self.credentials),
            "remote_domains": _sorted_or_none(self.remote_domains, str.lower),
            "attributes_to_headers": dict(sorted(self.attributes_to_headers)),
        }


class TrunkState(Value):
    static_ip: bool = False
    store_sip_messages: bool = True
    outbound: OutboundState | None = None
    inbound: InboundState | None = None

    def view(self) -> View:
        return {
            "static_ip": self.static_ip,
            "store_sip_messages": self.store_sip_messages,
            "outbound": self.outbound.view() if self.outbound else None,
            "inbound": self.inbound.view() if self.inbound else None,
        }

    def passwords(self) -> list[tuple[str, str]]:
        """(side, reference) for each side whose credentials carry a password reference."""
        found = []
        for side in ("outbound", "inbound"):
            part: OutboundState | InboundState | None = getattr(self, side)
            if part is not None and part.credentials is not None and part.credentials.password is not None:
                found.append((side, part.credentials.password))
        return found


class TwilioRefs(Value):
    """Twilio credentials as `${VAR}` reference text (desired side only; the API never returns them)."""

    account_sid: str
    auth_token: str
    account_auth_token: str | None = None


class NumberState(Value):
    number: str
    label: str
    provider: str
    agent_id: str | None = None
    caller_id_only: bool | None = None  # Twilio numbers only
    trunk: TrunkState | None = None  # SIP trunk numbers only
    twilio: TwilioRefs | None = None  # desired Twilio numbers only; never in a view

    @property
    def key(self) -> str:
        """The number's identity: its canonical E.164."""
        return grammar.normalise_e164(self.number)

    def view(self, aliases: dict[str, str], *, manage_agent: bool) -> View:
        """`aliases` maps agent id → the manifest alias shown for it (the id itself when unnamed)."""
        view: View = {"number": self.key, "label": self.label, "provider": self.provider}
        if manage_agent:
            view["agent"] = aliases.get(self.agent_id, self.agent_id) if self.agent_id else None
        if self.provider == "sip_trunk":
            if self.trunk is not None:
                view["trunk"] = self.trunk.view()
        else:
            view["caller_id_only"] = self.caller_id_only
        return view


class UuiState(Value):
    data: str
    protocol_discriminator: str | None = None
    mode: str = "prefix"

    def view(self) -> View:
        return {
            "data": self.data,
            "protocol_discriminator": (self.protocol_discriminator or "").upper() or None,
            "mode": self.mode,
        }


class RuleState(Value):
    """One transfer rule; `to` is the canonical destination text (`grammar.canonical_destination`)."""

    to: str
    type: str = "conference"
    condition: str
    wait_message: str | None = None
    handoff_message: str | None = None
    sip_headers: tuple[tuple[str, str], ...] = ()
    post_dial_digits: str | None = None
    uui: UuiState | None = None
    play_dialtone: bool = True

    def view(self) -> View:
        return {
            "to": grammar.canonical_destination(self.to),
            "type": self.type.lower(),
            "condition": self.condition,
            "wait_message": self.wait_message,
            "handoff_message": self.handoff_message,
            "sip_headers": {k: grammar.templated(v) for k, v in sorted(self.sip_headers)},
            "post_dial_digits": grammar.templated(self.post_dial_digits) if self.post_dial_digits is not None else None,
            "uui": self.uui.view() if self.uui else None,
            "play_dialtone": self.play_dialtone,
        }


class AgentScope(Value):
    """Which telephony keys of an agent the manifest manages (a key left out is never read)."""

    pre_call_webhook: bool = False
    placeholders: tuple[str, ...] | None = None  # the declared placeholder keys
    transfers: bool = False
    overrides: bool = False


class AgentState(Value):
    """The managed telephony settings of one agent; a field is None when it is not managed.

    `pre_call_webhook`: False (off), True (the workspace webhook) or this agent's own webhook.
    `placeholders`: the managed keys that have a value (a key to remove is absent).
    """

    pre_call_webhook: bool | WebhookState | None = None
    placeholders: tuple[tuple[str, str | int | float | bool], ...] | None = None
    transfers: tuple[RuleState, ...] | None = None
    overrides: tuple[str, ...] | None = None

    def view(self) -> View:
        view: View = {}
        if self.pre_call_webhook is not None:
            hook = self.pre_call_webhook
            view["pre_call_webhook"] = hook.view() if isinstance(hook, WebhookState) else bool(hook)
        if self.placeholders is not None:
            view["dynamic_variables"] = dict(sorted(self.placeholders))
        if self.transfers is not None:
            view["transfers"] = [rule.view() for rule in self.transfers]
        if self.overrides is not None:
            view["overrides"] = sorted(set(self.overrides))
        return view


def webhook_view(webhook: WebhookState | None) -> View:
    """The workspace webhook as the plan shows it (`null` when cleared)."""
    return {"webhook": webhook.view() if webhook else None}


# View keys the API may not report (caller_id_only comes from the deprecated supports_inbound).
UNKNOWABLE = frozenset({"caller_id_only"})


def in_api_order(codecs: list[str]) -> bool:
    """Whether `codecs` is in the order an API that does not keep codec order returns (alphabetical)."""
    return list(codecs) == sorted(codecs)


def reordered_only(expected: Any, observed: Any) -> bool:
    """The same codecs in another order: what an API that does not keep codec order returns."""
    return (
        isinstance(expected, list)
        and isinstance(observed, list)
        and expected != observed
        and sorted(expected) == sorted(observed)
    )


def differences(expected: Any, observed: Any, path: str = "") -> list[tuple[str, Any, Any]]:
    """Leaf paths where two views differ: (path, expected, observed). Used to check read-backs.

    A key in `UNKNOWABLE` that the API did not report (None) is not a difference.
    """
    if path.rsplit(".", 1)[-1] in UNKNOWABLE and observed is None:
        return []
    if isinstance(expected, dict) and isinstance(observed, dict):
        found = []
        for key in sorted(set(expected) | set(observed), key=str):
            sub = f"{path}.{key}" if path else str(key)
            found += differences(expected.get(key), observed.get(key), sub)
        return found
    if isinstance(expected, list) and isinstance(observed, list) and len(expected) == len(observed):
        if all(not isinstance(x, dict | list) for x in expected + observed):
            return [] if expected == observed else [(path, expected, observed)]
        found = []
        for index, (a, b) in enumerate(zip(expected, observed, strict=True)):
            found += differences(a, b, f"{path}[{index}]")
        return found
    return [] if expected == observed else [(path, expected, observed)]
