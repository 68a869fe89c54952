"""Normalise both sides into comparable views, then diff them field by field (deepdiff inside).

A *view* is the plain-JSON picture of what this tool manages about one resource, built from the
manifest models (desired) and from the same models mapped from live JSON (observed). Both sides go
through the same normalisation — E.164, enum case, host case, order-insensitive lists sorted,
empty-vs-null folded, defaults already filled by the models — so an applied manifest produces
identical views and plans "No changes": never a perpetual diff.

Write-only values (Twilio credentials, SIP passwords, secret header values) are not in views at
all: the API cannot return them, so comparing them would either always or never differ.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from provisioner.manifest import (
    Agent,
    Credentials,
    InboundTrunk,
    OutboundTrunk,
    PhoneNumber,
    SipTrunk,
    TransferRule,
    TwilioNumber,
    Webhook,
)
from provisioner.mapping import dynamic_name, has_secret_ref, secret_marker, secret_name

View = dict[str, Any]
_PUNCT = re.compile(r"[\s\-().]")


def e164(value: str) -> str:
    """Canonical E.164: no spaces, dashes, dots or brackets; `00` international prefix → `+`."""
    compact = _PUNCT.sub("", value.strip())
    if compact.startswith("00"):
        compact = "+" + compact[2:]
    return compact


def _sorted_or_none(values: list[str] | None, key: Any = None) -> list[str] | None:
    if not values:
        return None
    return sorted({key(v) if key else v for v in values})


def _credentials(creds: Credentials | None) -> View | None:
    # Only the username can be read back; the password is write-only and never compared.
    return None if creds is None else {"username": creds.username}


def outbound_view(trunk: OutboundTrunk | None) -> View | None:
    if trunk is None:
        return None
    return {
        "address": trunk.address.strip().lower(),
        "transport": trunk.transport.lower(),
        "media_encryption": trunk.media_encryption.lower(),
        "headers": dict(sorted(trunk.headers.items())),
        "attributes_to_headers": dict(sorted(trunk.attributes_to_headers.items())),
        "codecs": sorted({c.upper() for c in trunk.codecs}),
        "credentials": _credentials(trunk.credentials),
    }


def inbound_view(trunk: InboundTrunk | None) -> View | None:
    if trunk is None:
        return None
    return {
        "allowed_addresses": sorted({a.strip().lower() for a in trunk.allowed_addresses}),
        "allowed_numbers": _sorted_or_none(trunk.allowed_numbers, e164),
        "media_encryption": trunk.media_encryption.lower(),
        "credentials": _credentials(trunk.credentials),
        "remote_domains": _sorted_or_none(trunk.remote_domains, str.lower),
        "attributes_to_headers": dict(sorted(trunk.attributes_to_headers.items())),
    }


def trunk_view(trunk: SipTrunk) -> View:
    return {
        "static_ip": trunk.static_ip,
        "store_sip_messages": trunk.store_sip_messages,
        "outbound": outbound_view(trunk.outbound),
        "inbound": inbound_view(trunk.inbound),
    }


def number_view(number: PhoneNumber, trunk: SipTrunk | None, agent: str | None, *, manage_agent: bool) -> View:
    """`agent` is the canonical alias (or the raw id of an agent the manifest does not name)."""
    view: View = {"number": e164(number.number), "label": number.label, "provider": number.provider}
    if manage_agent:
        view["agent"] = agent
    if isinstance(number, TwilioNumber):
        view["caller_id_only"] = number.twilio.caller_id_only
    elif trunk is not None:
        view["trunk"] = trunk_view(trunk)
    return view


def _to(value: str) -> str:
    name = dynamic_name(value)
    if name:
        return "{{" + name + "}}"
    if value.startswith("sip:") and dynamic_name(value[4:]):
        return "sip:{{" + str(dynamic_name(value[4:])) + "}}"
    return value if value.startswith(("sip:", "sips:")) else e164(value)


def _templated(value: str) -> str:
    name = dynamic_name(value)
    return "{{" + name + "}}" if name else value


def rule_view(rule: TransferRule) -> View:
    return {
        "to": _to(rule.to),
        "type": rule.type.lower(),
        "condition": rule.condition,
        "wait_message": rule.wait_message,
        "handoff_message": rule.handoff_message,
        "sip_headers": {k: _templated(v) for k, v in sorted(rule.sip_headers.items())},
        "post_dial_digits": _templated(rule.post_dial_digits) if rule.post_dial_digits is not None else None,
        "uui": None
        if rule.uui is None
        else {
            "data": rule.uui.data,
            "protocol_discriminator": (rule.uui.protocol_discriminator or "").upper() or None,
            "mode": rule.uui.mode,
        },
        "play_dialtone": rule.play_dialtone,
    }


def webhook_view(webhook: Webhook | None, scope: str) -> View | None:
    """Header values holding `${VAR}` compare as a reference to the secret that stores them."""
    if webhook is None:
        return None
    headers = {
        h: secret_marker(secret_name(scope, h)) if has_secret_ref(v) else v for h, v in sorted(webhook.headers.items())
    }
    return {"url": webhook.url.strip(), "headers": headers}


def agent_view(agent: Agent, declared: Agent) -> View:
    """Only the keys `declared` (the manifest's agent) manages; a key left out is not managed."""
    view: View = {}
    if declared.pre_call_webhook is not None:
        hook = agent.pre_call_webhook
        view["pre_call_webhook"] = webhook_view(hook, declared.id) if isinstance(hook, Webhook) else bool(hook)
    if declared.dynamic_variables is not None:
        # Per key: only the declared keys, and only those with a value (a key declared as null is
        # to be removed, so it is absent from the desired view; a key not set live is absent too).
        values = agent.dynamic_variables or {}
        view["dynamic_variables"] = {
            k: values[k] for k in sorted(declared.dynamic_variables) if values.get(k) is not None
        }
    if declared.transfers is not None:
        view["transfers"] = [rule_view(r) for r in agent.transfers or []]
    if declared.overrides is not None:
        view["overrides"] = sorted(set(agent.overrides or []))
    return view


@dataclass(frozen=True)
class FieldChange:
    """One changed field: its dotted path in the view, the values before and after."""

    path: str
    before: Any
    after: Any
    sensitive: bool = False
    note: str | None = None
    # "add": the path is absent before; "remove": absent after; "change": present on both sides
    # (a null is a value: an unassigned agent becoming assigned is a change). None: not from a diff.
    op: str | None = None


def _format_path(parts: list[Any]) -> str:
    out = ""
    for part in parts:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def _field_path(parts: list[Any], before: Any, after: Any) -> list[Any]:
    """Cut a deepdiff path at the first list of scalars, so a list shows as a whole value."""
    node_b, node_a = before, after
    for depth, part in enumerate(parts):
        if isinstance(part, int):
            sample = node_b if isinstance(node_b, list) and node_b else node_a
            if isinstance(sample, list) and all(not isinstance(x, dict | list) for x in sample):
                return parts[:depth]
        node_b = _step(node_b, part)
        node_a = _step(node_a, part)
    return parts


def _step(node: Any, part: Any) -> Any:
    if isinstance(node, dict):
        return node.get(part)
    if isinstance(node, list) and isinstance(part, int) and part < len(node):
        return node[part]
    return None


def _get(node: Any, parts: list[Any]) -> Any:
    for part in parts:
        node = _step(node, part)
    return node


def _has(node: Any, parts: list[Any]) -> bool:
    for part in parts:
        in_dict = isinstance(node, dict) and part in node
        in_list = isinstance(node, list) and isinstance(part, int) and part < len(node)
        if not (in_dict or in_list):
            return False
        node = node[part]
    return True


def _op(before: View, after: View, parts: list[Any]) -> str:
    if not _has(before, parts):
        return "add"
    return "change" if _has(after, parts) else "remove"


def diff_views(before: View | None, after: View | None) -> list[FieldChange]:
    """Per-field changes between two views, in a stable order."""
    if before == after:
        return []
    if before is None or after is None:
        return [FieldChange("", before, after)]
    from deepdiff import DeepDiff  # imported here: with numpy it is most of a cold start

    tree = DeepDiff(before, after, view="tree", verbose_level=2)
    paths: dict[str, list[Any]] = {}
    for changes in tree.values():
        for change in changes:
            parts = _field_path(list(change.path(output_format="list")), before, after)
            paths.setdefault(_format_path(parts), parts)
    return [
        FieldChange(p, _get(before, parts), _get(after, parts), op=_op(before, after, parts))
        for p, parts in sorted(paths.items())
    ]
