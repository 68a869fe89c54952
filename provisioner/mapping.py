"""The one place that maps API JSON ⇄ manifest models, in named pairs per kind.

Both directions live here so a change to one can be checked against the other: `*_to_api`
builds request bodies from the manifest models, `*_from_api` reads live JSON back into the same
models, so observe, diff, plan and apply all work on one model family.

Mapping rules (documented in the README, "How it decides"):
* Transfer rules. The API has no per-rule wait/handoff message and holds `description` and
  `enable_client_message` once per agent's transfer tool. The description is generated from all
  rules by one template (`describe_transfers`) and parsed back by `parse_description`, so an
  edited description shows up as a change instead of being silently lost. `enable_client_message`
  is true when any rule has a `wait_message`; when it is live-false, wait messages read as absent.
* `to: "{{v}}"` → `phone_dynamic_variable`, `to: "sip:{{v}}"` → `sip_uri_dynamic_variable` (the
  stored value is the variable name); a SIP header or `post_dial_digits` that is exactly `{{v}}`
  → the `dynamic` kind.
* `caller_id_only: true` ⇄ `supports_inbound: false`; trunk `static_ip` ⇄ `livekit_stack: static`.
* Webhook header values with `${VAR}` are workspace secrets named `telephony:<scope>:<header>`
  and sent as `{"secret_id": ...}`; they read back as `secret_marker(name)`.
* Write-only values (Twilio credentials, SIP passwords) read back as `WRITE_ONLY`.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from typing import Any

from provisioner.manifest import (
    OVERRIDE_PATHS,
    Agent,
    Credentials,
    InboundTrunk,
    OutboundTrunk,
    PhoneNumber,
    SipTrunk,
    SipTrunkNumber,
    TransferRule,
    TwilioCredentials,
    TwilioNumber,
    Uui,
    Webhook,
)

JSON = Any
Resolve = Callable[[str], str]
WRITE_ONLY = "(write-only)"
SECRET_NAME_PREFIX = "telephony:"
WORKSPACE_SCOPE = "workspace"
_DYNAMIC = re.compile(r"^\{\{\s*([A-Za-z0-9_\-.]+)\s*\}\}$")
_SIP_DYNAMIC = re.compile(r"^sip:\{\{\s*([A-Za-z0-9_\-.]+)\s*\}\}$")
_REF = re.compile(r"\$\{[A-Za-z_][A-Za-z0-9_]*(?::-[^}]*)?\}")
WEBHOOK_SWITCH = "enable_conversation_initiation_client_data_from_webhook"
AGENT_WEBHOOK = "conversation_initiation_client_data_webhook"


def dynamic_name(value: str) -> str | None:
    """The variable name when `value` is exactly `{{name}}`, else None."""
    match = _DYNAMIC.match(value.strip())
    return match.group(1) if match else None


def has_secret_ref(value: str) -> bool:
    return bool(_REF.search(value))


def secret_name(scope: str, header: str) -> str:
    return f"{SECRET_NAME_PREFIX}{scope}:{header}"


def secret_marker(name: str) -> str:
    return f"(secret {name})"


# -- SIP trunks -------------------------------------------------------------------------------


def _credentials_to_api(creds: Credentials | None, resolve: Resolve, send_password: bool) -> JSON:
    if creds is None:
        return None
    body: dict[str, Any] = {"username": creds.username}
    if send_password and creds.password is not None:
        body["password"] = resolve(creds.password)
    return body


def outbound_to_api(trunk: OutboundTrunk | None, resolve: Resolve, *, send_password: bool) -> JSON:
    if trunk is None:
        return None
    return {
        "address": trunk.address,
        "transport": trunk.transport,
        "media_encryption": trunk.media_encryption,
        "headers": dict(trunk.headers),
        "attributes_to_headers": dict(trunk.attributes_to_headers),
        "enabled_codecs": list(trunk.codecs),
        "credentials": _credentials_to_api(trunk.credentials, resolve, send_password),
    }


def inbound_to_api(trunk: InboundTrunk | None, resolve: Resolve, *, send_password: bool) -> JSON:
    if trunk is None:
        return None
    return {
        "allowed_addresses": list(trunk.allowed_addresses),
        "allowed_numbers": list(trunk.allowed_numbers) if trunk.allowed_numbers is not None else None,
        "media_encryption": trunk.media_encryption,
        "credentials": _credentials_to_api(trunk.credentials, resolve, send_password),
        "remote_domains": list(trunk.remote_domains) if trunk.remote_domains is not None else None,
        "attributes_to_headers": dict(trunk.attributes_to_headers),
    }


def _credentials_from_api(obj: JSON) -> Credentials | None:
    if not obj.get("has_auth_credentials"):
        return None
    return Credentials.model_construct(username=obj.get("username") or "", password=WRITE_ONLY)


def outbound_from_api(obj: JSON) -> OutboundTrunk | None:
    if not obj:
        return None
    return OutboundTrunk.model_construct(
        address=obj.get("address", ""),
        transport=obj.get("transport") or "auto",
        media_encryption=obj.get("media_encryption") or "allowed",
        headers=dict(obj.get("headers") or {}),
        attributes_to_headers=dict(obj.get("attributes_to_headers") or {}),
        codecs=list(obj.get("enabled_codecs") or []),
        credentials=_credentials_from_api(obj),
    )


def inbound_from_api(obj: JSON) -> InboundTrunk | None:
    if not obj:
        return None
    return InboundTrunk.model_construct(
        allowed_addresses=list(obj.get("allowed_addresses") or []),
        allowed_numbers=obj.get("allowed_numbers"),
        media_encryption=obj.get("media_encryption") or "allowed",
        credentials=_credentials_from_api(obj),
        remote_domains=obj.get("remote_domains"),
        attributes_to_headers=dict(obj.get("attributes_to_headers") or {}),
    )


def trunk_from_api(number: JSON) -> SipTrunk:
    return SipTrunk.model_construct(
        static_ip=number.get("livekit_stack") == "static",
        store_sip_messages=bool(number.get("store_sip_messages", True)),
        outbound=outbound_from_api(number.get("outbound_trunk") or number.get("provider_config")),
        inbound=inbound_from_api(number.get("inbound_trunk")),
    )


def trunk_settings_patch(trunk: SipTrunk) -> dict[str, Any]:
    """What the import body cannot take; sent as a PATCH in the same step after an import."""
    return {
        "livekit_stack": "static" if trunk.static_ip else "standard",
        "store_sip_messages": trunk.store_sip_messages,
    }


# -- phone numbers ------------------------------------------------------------------------------


def import_body(number: PhoneNumber, trunk: SipTrunk | None, agent_id: str | None, resolve: Resolve) -> dict[str, Any]:
    """The POST /v1/convai/phone-numbers body: only what the import takes."""
    body: dict[str, Any] = {"phone_number": number.number, "label": number.label, "agent_id": agent_id}
    if isinstance(number, TwilioNumber):
        creds = number.twilio
        body.update(provider="twilio", sid=resolve(creds.account_sid), token=resolve(creds.auth_token))
        if creds.account_auth_token is not None:
            body["account_auth_token"] = resolve(creds.account_auth_token)
        body["supports_inbound"] = not creds.caller_id_only
        body["supports_outbound"] = True
        return body
    assert trunk is not None
    body["provider"] = "sip_trunk"
    body["inbound_trunk_config"] = inbound_to_api(trunk.inbound, resolve, send_password=True)
    body["outbound_trunk_config"] = outbound_to_api(trunk.outbound, resolve, send_password=True)
    return body


def number_from_api(obj: JSON, alias_of: Mapping[str, str]) -> tuple[PhoneNumber, SipTrunk | None]:
    """Live number JSON → (number model, its embedded trunk). `alias_of` maps agent id → alias."""
    assigned = obj.get("assigned_agent") or None
    agent_id = assigned.get("agent_id") if isinstance(assigned, dict) else None
    agent = alias_of.get(agent_id, agent_id) if agent_id else None
    common = {"number": obj.get("phone_number", ""), "label": obj.get("label", ""), "agent": agent}
    if obj.get("provider") == "sip_trunk":
        trunk = trunk_from_api(obj)
        return SipTrunkNumber.model_construct(provider="sip_trunk", sip_trunk="", **common), trunk
    twilio = TwilioCredentials.model_construct(
        account_sid=WRITE_ONLY,
        auth_token=WRITE_ONLY,
        account_auth_token=None,
        caller_id_only=obj.get("supports_inbound") is False,
    )
    return TwilioNumber.model_construct(provider=obj.get("provider", "twilio"), twilio=twilio, **common), None


# -- transfer rules -----------------------------------------------------------------------------

_RULE_LINE = re.compile(r"^Rule (\d+): ")
_LABELLED = re.compile(r'(when|tell the caller|tell the person who answers) ("(?:[^"\\]|\\.)*")')
_DESCRIPTION_HEAD = (
    "Transfer the call when one of the rules below applies. While transferring, tell the caller the "
    "rule's message for the caller, and give the person who answers the rule's message for them."
)


def describe_transfers(rules: list[TransferRule]) -> str:
    """The transfer tool's description, generated from all of an agent's rules by one template."""
    lines = [_DESCRIPTION_HEAD]
    for index, rule in enumerate(rules, start=1):
        line = f"Rule {index}: when {json.dumps(rule.condition, ensure_ascii=False)}"
        if rule.wait_message is not None:
            line += f"; tell the caller {json.dumps(rule.wait_message, ensure_ascii=False)}"
        if rule.handoff_message is not None:
            line += f"; tell the person who answers {json.dumps(rule.handoff_message, ensure_ascii=False)}"
        lines.append(line + ".")
    return "\n".join(lines)


def parse_description(description: str) -> dict[int, dict[str, str]]:
    """Rule number → {"wait_message", "handoff_message"} recovered from a generated description."""
    found: dict[int, dict[str, str]] = {}
    keys = {"tell the caller": "wait_message", "tell the person who answers": "handoff_message"}
    for line in description.split("\n"):  # not splitlines(): U+2028 etc. may sit inside a message
        head = _RULE_LINE.match(line)
        if not head:
            continue
        messages: dict[str, str] = {}
        for label, raw in _LABELLED.findall(line):
            if label in keys:
                try:
                    messages[keys[label]] = json.loads(raw)
                except ValueError:
                    continue
        found[int(head.group(1))] = messages
    return found


def _destination_to_api(to: str) -> dict[str, str]:
    name = dynamic_name(to)
    if name:
        return {"type": "phone_dynamic_variable", "phone_number": name}
    sip = _SIP_DYNAMIC.match(to.strip())
    if sip:
        return {"type": "sip_uri_dynamic_variable", "sip_uri": sip.group(1)}
    if to.startswith("sip:") or to.startswith("sips:"):
        return {"type": "sip_uri", "sip_uri": to}
    return {"type": "phone", "phone_number": to}


def _destination_from_api(dest: JSON) -> str:
    kind = dest.get("type")
    if kind == "phone_dynamic_variable":
        return "{{" + str(dest.get("phone_number", "")) + "}}"
    if kind == "sip_uri_dynamic_variable":
        return "sip:{{" + str(dest.get("sip_uri", "")) + "}}"
    if kind == "sip_uri":
        return str(dest.get("sip_uri", ""))
    return str(dest.get("phone_number", ""))


def _valued(value: str) -> dict[str, str]:
    name = dynamic_name(value)
    return {"type": "dynamic", "value": name} if name else {"type": "static", "value": value}


def _unvalued(obj: JSON) -> str:
    value = str(obj.get("value", ""))
    return "{{" + value + "}}" if obj.get("type") == "dynamic" else value


def transfer_to_api(rule: TransferRule) -> dict[str, Any]:
    return {
        "transfer_destination": _destination_to_api(rule.to),
        "condition": rule.condition,
        "transfer_type": rule.type,
        "custom_sip_headers": [{**_valued(v), "key": k} for k, v in rule.sip_headers.items()],
        "post_dial_digits": _valued(rule.post_dial_digits) if rule.post_dial_digits is not None else None,
        "uui": (
            {
                "data": rule.uui.data,
                "protocol_discriminator": rule.uui.protocol_discriminator,
                "protocol_discriminator_mode": rule.uui.mode,
            }
            if rule.uui is not None
            else None
        ),
        "sip_refer_play_dialtone": rule.play_dialtone,
    }


def transfer_tool_to_api(rules: list[TransferRule]) -> dict[str, Any] | None:
    """The `built_in_tools.transfer_to_number` object; None (remove the tool) for an empty list."""
    if not rules:
        return None
    return {
        "type": "system",
        "name": "transfer_to_number",
        "description": describe_transfers(rules),
        "params": {
            "system_tool_type": "transfer_to_number",
            "transfers": [transfer_to_api(rule) for rule in rules],
            "enable_client_message": any(rule.wait_message is not None for rule in rules),
        },
    }


def transfers_from_api(tool: JSON) -> list[TransferRule]:
    if not tool:
        return []
    params = tool.get("params") or {}
    messages = parse_description(str(tool.get("description") or ""))
    client_message = params.get("enable_client_message", True)
    rules = []
    for index, item in enumerate(params.get("transfers") or [], start=1):
        said = messages.get(index, {})
        uui = item.get("uui")
        rules.append(
            TransferRule.model_construct(
                to=_destination_from_api(
                    item.get("transfer_destination") or {"phone_number": item.get("phone_number")}
                ),
                type=item.get("transfer_type") or "conference",
                condition=item.get("condition", ""),
                wait_message=said.get("wait_message") if client_message else None,
                handoff_message=said.get("handoff_message"),
                sip_headers={h.get("key", ""): _unvalued(h) for h in item.get("custom_sip_headers") or []},
                post_dial_digits=_unvalued(item["post_dial_digits"]) if item.get("post_dial_digits") else None,
                uui=Uui.model_construct(
                    data=uui.get("data", ""),
                    protocol_discriminator=uui.get("protocol_discriminator"),
                    mode=uui.get("protocol_discriminator_mode") or "prefix",
                )
                if uui
                else None,
                play_dialtone=item.get("sip_refer_play_dialtone", True) is not False,
            )
        )
    return rules


# -- webhooks -----------------------------------------------------------------------------------


def webhook_to_api(webhook: Webhook | None, secret_ids: Mapping[str, str], scope: str, resolve: Resolve) -> JSON:
    """`{url, request_headers}`; `${VAR}` header values become `{"secret_id": ...}` references."""
    if webhook is None:
        return None
    headers: dict[str, Any] = {}
    for header, value in webhook.headers.items():
        if has_secret_ref(value):
            headers[header] = {"secret_id": secret_ids[secret_name(scope, header)]}
        else:
            headers[header] = resolve(value)
    return {"url": webhook.url, "request_headers": headers}


def webhook_from_api(obj: JSON, secret_names: Mapping[str, str]) -> Webhook | None:
    if not obj:
        return None
    headers: dict[str, str] = {}
    for header, value in (obj.get("request_headers") or {}).items():
        if isinstance(value, dict) and "secret_id" in value:
            name = secret_names.get(str(value["secret_id"]))
            headers[header] = secret_marker(name) if name else f"(unknown secret {value['secret_id']})"
        elif isinstance(value, dict) and "env_var_label" in value:
            headers[header] = f"(env var {value['env_var_label']})"
        else:
            headers[header] = str(value)
    return Webhook.model_construct(url=obj.get("url", ""), headers=headers)


def webhook_secrets(webhook: Webhook | None, scope: str) -> dict[str, str]:
    """Secret name → the header value (still `${VAR}`) it stores, for one webhook."""
    if webhook is None:
        return {}
    return {secret_name(scope, h): v for h, v in webhook.headers.items() if has_secret_ref(v)}


# -- agents -------------------------------------------------------------------------------------


def _dig(obj: JSON, *path: str) -> JSON:
    for key in path:
        if not isinstance(obj, dict):
            return None
        obj = obj.get(key)
    return obj


def agent_from_api(obj: JSON, declared: Agent, secret_names: Mapping[str, str]) -> Agent:
    """Read only the telephony fields `declared` manages; the others stay None (unmanaged)."""
    fields: dict[str, Any] = {"id": obj.get("agent_id", declared.id)}
    platform = obj.get("platform_settings") or {}
    if declared.pre_call_webhook is not None:
        switch = bool(_dig(platform, "overrides", WEBHOOK_SWITCH))
        own = webhook_from_api(_dig(platform, "workspace_overrides", AGENT_WEBHOOK), secret_names)
        fields["pre_call_webhook"] = (own or True) if switch else False
    if declared.dynamic_variables is not None:
        live = _dig(obj, "conversation_config", "agent", "dynamic_variables", "dynamic_variable_placeholders") or {}
        fields["dynamic_variables"] = {k: live[k] for k in declared.dynamic_variables if k in live}
    if declared.transfers is not None:
        tool = _dig(obj, "conversation_config", "agent", "prompt", "built_in_tools", "transfer_to_number")
        fields["transfers"] = transfers_from_api(tool)
    if declared.overrides is not None:
        override = _dig(platform, "overrides", "conversation_config_override") or {}
        fields["overrides"] = [name for name, path in OVERRIDE_PATHS.items() if _dig(override, *path) is True]
    return Agent.model_construct(**fields)


def overrides_to_api(names: list[str]) -> dict[str, Any]:
    tree: dict[str, Any] = {}
    for name, path in OVERRIDE_PATHS.items():
        node = tree
        for key in path[:-1]:
            node = node.setdefault(key, {})
        node[path[-1]] = name in names
    return tree


def agent_patch(
    agent: Agent,
    parts: set[str],
    live: JSON,
    secret_ids: Mapping[str, str],
    resolve: Resolve,
) -> dict[str, Any]:
    """The PATCH body for the managed `parts` of an agent (names of Agent fields). The API deep-merges
    objects and replaces lists, so only managed paths are sent and everything else is left alone."""
    conversation: dict[str, Any] = {}
    platform: dict[str, Any] = {}
    if "transfers" in parts and agent.transfers is not None:
        tool = transfer_tool_to_api(agent.transfers)
        conversation.setdefault("agent", {})["prompt"] = {"built_in_tools": {"transfer_to_number": tool}}
    if "dynamic_variables" in parts and agent.dynamic_variables is not None:
        merged = dict(
            _dig(live, "conversation_config", "agent", "dynamic_variables", "dynamic_variable_placeholders") or {}
        )
        for key, value in agent.dynamic_variables.items():  # keys set elsewhere are kept
            if value is not None:
                merged[key] = value
            elif merged.get(key) is not None:
                # null removes the key: the API deep-merges this map, so leaving the key out would
                # keep it; an absent key is not sent at all.
                merged[key] = None
        conversation.setdefault("agent", {})["dynamic_variables"] = {"dynamic_variable_placeholders": merged}
    if "pre_call_webhook" in parts and agent.pre_call_webhook is not None:
        hook = agent.pre_call_webhook
        platform.setdefault("overrides", {})[WEBHOOK_SWITCH] = hook is not False
        own = hook if isinstance(hook, Webhook) else None
        platform["workspace_overrides"] = {AGENT_WEBHOOK: webhook_to_api(own, secret_ids, agent.id, resolve)}
    if "overrides" in parts and agent.overrides is not None:
        platform.setdefault("overrides", {})["conversation_config_override"] = overrides_to_api(list(agent.overrides))
    body: dict[str, Any] = {}
    if conversation:
        body["conversation_config"] = conversation
    if platform:
        body["platform_settings"] = platform
    return body
