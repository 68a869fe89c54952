"""The codec: wire models ⇄ canonical values, in named pairs per kind.

Both directions live here so one can be checked against the other (`decode(encode(x))` equals the
canonical form of `x`). Nothing outside `provisioner.api` sees API JSON: agents are decoded from
their two JSON sections here, and agent PATCH bodies are composed here at send time.

Mapping rules (documented in docs/how-it-decides.md):
* Transfer rules. The API has no per-rule wait/handoff message and holds `description` and
  `enable_client_message` once per agent's transfer tool. The description is generated from all
  rules by one template (`describe_transfers`) and parsed back by `parse_description`, so an
  edited description shows up as a change instead of being silently lost. `enable_client_message`
  is true when any rule has a `wait_message`; when it is live-false, wait messages read as absent.
* Destinations follow `grammar.parse_destination`; a SIP header or `post_dial_digits` that is
  exactly `{{v}}` is the `dynamic` kind.
* `caller_id_only: true` ⇄ `supports_inbound: false`; trunk `static_ip` ⇄ `livekit_stack: static`.
* Webhook header values with `${VAR}` are workspace secrets sent as `{"secret_id": ...}`; they read
  back as `SecretRef(name)`.
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Callable, Iterator, Mapping
from functools import lru_cache
from importlib import resources
from typing import Any

from provisioner import grammar
from provisioner.api import wire
from provisioner.state import (
    AgentScope,
    AgentState,
    CredentialsState,
    ForeignHeader,
    HeaderValue,
    InboundState,
    NumberState,
    OutboundState,
    RuleState,
    SecretRef,
    TrunkState,
    UuiState,
    Value,
    WebhookState,
)

Resolve = Callable[[str], str]
WEBHOOK_SWITCH = "enable_conversation_initiation_client_data_from_webhook"
AGENT_WEBHOOK = "conversation_initiation_client_data_webhook"

# Which conversation fields a pre-call webhook may override, by the manifest's short name, mapped
# to the path under platform_settings.overrides.conversation_config_override.
OVERRIDE_PATHS: dict[str, tuple[str, ...]] = {
    "first_message": ("agent", "first_message"),
    "language": ("agent", "language"),
    "max_conversation_duration_message": ("agent", "max_conversation_duration_message"),
    "prompt": ("agent", "prompt", "prompt"),
    "llm": ("agent", "prompt", "llm"),
    "tool_ids": ("agent", "prompt", "tool_ids"),
    "knowledge_base": ("agent", "prompt", "knowledge_base"),
    "voice": ("tts", "voice_id"),
    "tts_model": ("tts", "model_id"),
    "stability": ("tts", "stability"),
    "speed": ("tts", "speed"),
    "similarity_boost": ("tts", "similarity_boost"),
    "text_only": ("conversation", "text_only"),
    "max_duration_seconds": ("conversation", "max_duration_seconds"),
}


# -- SIP trunks ---------------------------------------------------------------------------------


def _credentials_request(creds: CredentialsState | None, *, send_password: bool) -> wire.TrunkCredentialsRequest | None:
    if creds is None:
        return None
    if send_password and creds.password is not None:
        return wire.TrunkCredentialsRequest(username=creds.username, password=creds.password)
    return wire.TrunkCredentialsRequest(username=creds.username)


def outbound_request(trunk: OutboundState | None, *, send_password: bool) -> wire.OutboundTrunkRequest | None:
    if trunk is None:
        return None
    return wire.OutboundTrunkRequest(
        address=trunk.address,
        transport=trunk.transport,
        media_encryption=trunk.media_encryption,
        headers=dict(trunk.headers),
        attributes_to_headers=dict(trunk.attributes_to_headers),
        enabled_codecs=list(trunk.codecs),
        credentials=_credentials_request(trunk.credentials, send_password=send_password),
    )


def inbound_request(trunk: InboundState | None, *, send_password: bool) -> wire.InboundTrunkRequest | None:
    if trunk is None:
        return None
    return wire.InboundTrunkRequest(
        allowed_addresses=list(trunk.allowed_addresses),
        allowed_numbers=list(trunk.allowed_numbers) if trunk.allowed_numbers is not None else None,
        media_encryption=trunk.media_encryption,
        credentials=_credentials_request(trunk.credentials, send_password=send_password),
        remote_domains=list(trunk.remote_domains) if trunk.remote_domains is not None else None,
        attributes_to_headers=dict(trunk.attributes_to_headers),
    )


def _credentials(has: bool | None, username: str | None) -> CredentialsState | None:
    return CredentialsState(username=username or "") if has else None


def decode_outbound(obj: wire.OutboundTrunkResponse | None) -> OutboundState | None:
    if obj is None or not obj.address:
        return None
    return OutboundState(
        address=obj.address,
        transport=obj.transport or "auto",
        media_encryption=obj.media_encryption or "allowed",
        headers=tuple((obj.headers or {}).items()),
        attributes_to_headers=tuple((obj.attributes_to_headers or {}).items()),
        codecs=tuple(obj.enabled_codecs or ()),
        credentials=_credentials(obj.has_auth_credentials, obj.username),
    )


def decode_inbound(obj: wire.InboundTrunkResponse | None) -> InboundState | None:
    if obj is None:
        return None
    return InboundState(
        allowed_addresses=tuple(obj.allowed_addresses or ()),
        allowed_numbers=tuple(obj.allowed_numbers) if obj.allowed_numbers is not None else None,
        media_encryption=obj.media_encryption or "allowed",
        credentials=_credentials(obj.has_auth_credentials, obj.username),
        remote_domains=tuple(obj.remote_domains) if obj.remote_domains is not None else None,
        attributes_to_headers=tuple((obj.attributes_to_headers or {}).items()),
    )


def stack_of(static_ip: bool) -> str:
    return "static" if static_ip else "standard"


# -- phone numbers ------------------------------------------------------------------------------


def decode_number(obj: wire.PhoneNumberResponse) -> NumberState:
    agent_id = obj.assigned_agent.agent_id if obj.assigned_agent else None
    common: dict[str, Any] = {"number": obj.phone_number, "label": obj.label, "provider": obj.provider}
    if obj.provider == "sip_trunk":
        trunk = TrunkState(
            static_ip=obj.livekit_stack == "static",
            store_sip_messages=obj.store_sip_messages is not False,
            outbound=decode_outbound(obj.outbound_trunk or obj.provider_config),
            inbound=decode_inbound(obj.inbound_trunk),
        )
        return NumberState(**common, agent_id=agent_id, trunk=trunk)
    # supports_inbound is deprecated with no successor: when it is absent, caller_id_only is unknown.
    caller_id_only = None if obj.supports_inbound is None else obj.supports_inbound is False
    return NumberState(**common, agent_id=agent_id, caller_id_only=caller_id_only)


def import_request(number: NumberState) -> wire.ImportRequest:
    """The POST /v1/convai/phone-numbers body (credentials as `${VAR}` text until sent)."""
    if number.provider == "twilio":
        refs = number.twilio
        assert refs is not None, "a desired Twilio number carries its credential references"
        extra = {"account_auth_token": refs.account_auth_token} if refs.account_auth_token is not None else {}
        return wire.ImportTwilioRequest(
            phone_number=number.number,
            label=number.label,
            agent_id=number.agent_id,
            sid=refs.account_sid,
            token=refs.auth_token,
            supports_inbound=not number.caller_id_only,
            supports_outbound=True,
            **extra,
        )
    trunk = number.trunk or TrunkState()
    return wire.ImportSipTrunkRequest(
        phone_number=number.number,
        label=number.label,
        agent_id=number.agent_id,
        inbound_trunk_config=inbound_request(trunk.inbound, send_password=True),
        outbound_trunk_config=outbound_request(trunk.outbound, send_password=True),
    )


def _resolved_credentials(
    creds: wire.TrunkCredentialsRequest | None, resolve: Resolve
) -> wire.TrunkCredentialsRequest | None:
    if creds is None or creds.password is None:
        return creds
    return creds.model_copy(update={"password": resolve(creds.password)})


def _resolved_trunks(request: wire.Request, resolve: Resolve) -> dict[str, Any]:
    update: dict[str, Any] = {}
    for key in ("inbound_trunk_config", "outbound_trunk_config"):
        side = getattr(request, key, None)
        if side is not None:
            update[key] = side.model_copy(update={"credentials": _resolved_credentials(side.credentials, resolve)})
    return update


def resolved_import(request: wire.ImportRequest, resolve: Resolve) -> dict[str, Any]:
    """The body to send: every `${VAR}` in a credential field replaced by its value."""
    if isinstance(request, wire.ImportTwilioRequest):
        update: dict[str, Any] = {"sid": resolve(request.sid), "token": resolve(request.token)}
        if request.account_auth_token is not None:
            update["account_auth_token"] = resolve(request.account_auth_token)
        return request.model_copy(update=update).body()
    return request.model_copy(update=_resolved_trunks(request, resolve)).body()


def resolved_update(request: wire.UpdatePhoneNumberRequest, resolve: Resolve) -> dict[str, Any]:
    return request.model_copy(update=_resolved_trunks(request, resolve)).body()


def request_references(request: wire.Request) -> list[str]:
    """The `${VAR}` names a request will resolve when sent (to check before any write)."""
    texts: list[str] = []
    if isinstance(request, wire.ImportTwilioRequest):
        texts += [request.sid, request.token, request.account_auth_token or ""]
    for key in ("inbound_trunk_config", "outbound_trunk_config"):
        side = getattr(request, key, None)
        if side is not None and side.credentials is not None and side.credentials.password is not None:
            texts.append(side.credentials.password)
    if isinstance(request, wire.CreateSecretRequest | wire.UpdateSecretRequest):
        texts.append(request.value)
    names: list[str] = []
    for text in texts:
        names += [n for n in grammar.references(text) if n not in names]
    return names


# -- webhooks -----------------------------------------------------------------------------------


def decode_header(value: wire.HeaderWire, secret_names: Mapping[str, str]) -> HeaderValue:
    if isinstance(value, wire.SecretReference):
        name = secret_names.get(value.secret_id)
        return SecretRef(secret=name) if name else ForeignHeader(shown=f"(unknown secret {value.secret_id})")
    if isinstance(value, wire.EnvVarReference):
        return ForeignHeader(shown=f"(env var {value.env_var_label})")
    return value


def decode_webhook(obj: wire.WebhookWire | None, secret_names: Mapping[str, str]) -> WebhookState | None:
    if obj is None:
        return None
    headers = tuple((h, decode_header(v, secret_names)) for h, v in obj.request_headers.items())
    return WebhookState(url=obj.url, headers=headers)


def encode_webhook(hook: WebhookState | None, secret_ids: Mapping[str, str]) -> wire.WebhookWire | None:
    """`{url, request_headers}`; secret headers become `{"secret_id": ...}` (ids known at send time)."""
    if hook is None:
        return None
    headers: dict[str, wire.HeaderWire] = {}
    for header, value in hook.headers:
        if isinstance(value, SecretRef):
            headers[header] = wire.SecretReference(secret_id=secret_ids[value.secret])
        elif isinstance(value, ForeignHeader):
            raise ValueError(f"header {header} holds a value the manifest cannot express")
        else:
            headers[header] = value
    return wire.WebhookWire(url=hook.url, request_headers=headers)


def settings_patches(
    hook: WebhookState | None, secret_ids: Mapping[str, str], fresh: wire.SettingsResponse, *, clear_first: bool
) -> list[wire.SettingsPatchRequest]:
    """Read-modify-write of the settings: every setting the tool does not own is sent back as read
    (a PATCH may reset absent keys to defaults); the webhook is cleared first when headers go away
    (the API may merge the header map)."""
    kept: dict[str, Any] = {
        key: getattr(fresh, key)
        for key in wire.SETTINGS_KEPT
        if key in fresh.model_fields_set
        and not (getattr(fresh, key) is None and key != "conversation_embedding_retention_days")
    }
    bodies = []
    if clear_first and hook is not None:
        bodies.append(wire.SettingsPatchRequest(**kept, conversation_initiation_client_data_webhook=None))
    bodies.append(
        wire.SettingsPatchRequest(**kept, conversation_initiation_client_data_webhook=encode_webhook(hook, secret_ids))
    )
    return bodies


def unowned_settings_changes(before: wire.SettingsResponse, after: wire.SettingsResponse) -> list[tuple[str, Any, Any]]:
    """Settings the tool does not own that existed before the write and changed."""
    return [
        (key, getattr(before, key), getattr(after, key))
        for key in wire.SETTINGS_KEPT
        if key in before.model_fields_set and getattr(before, key) != getattr(after, key)
    ]


def removes_headers(live: WebhookState | None, wanted: WebhookState | None) -> bool:
    """Whether writing `wanted` over `live` drops a header name (a merge would keep it)."""
    if live is None or wanted is None:
        return False
    return bool({h for h, _ in live.headers} - {h for h, _ in wanted.headers})


# -- transfer rules -----------------------------------------------------------------------------

_RULE_LINE = re.compile(r"^Rule (\d+): ")
_LABELLED = re.compile(r'(when|tell the caller|tell the person who answers) ("(?:[^"\\]|\\.)*")')
_DESCRIPTION_HEAD = (
    "Transfer the call when one of the rules below applies. While transferring, tell the caller the "
    "rule's message for the caller, and give the person who answers the rule's message for them."
)


def describe_transfers(rules: tuple[RuleState, ...]) -> str:
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


def encode_destination(to: str) -> dict[str, str]:
    parsed = grammar.parse_destination(to)
    if parsed is None:  # validate refuses these; never guess a type for one
        raise ValueError(f"{to!r} is not a transfer destination")
    key = (
        "sip_uri"
        if parsed.kind in (grammar.DestinationKind.SIP_URI, grammar.DestinationKind.SIP_URI_VARIABLE)
        else "phone_number"
    )
    return {"type": parsed.kind.value, key: parsed.value}


def decode_destination(dest: Any) -> str:
    if not isinstance(dest, dict):
        return ""
    kind = dest.get("type")
    if kind == grammar.DestinationKind.PHONE_VARIABLE:
        return grammar.variable_text(str(dest.get("phone_number", "")))
    if kind == grammar.DestinationKind.SIP_URI_VARIABLE:
        return "sip:" + grammar.variable_text(str(dest.get("sip_uri", "")))
    if kind == grammar.DestinationKind.SIP_URI:
        return grammar.canonical_destination(str(dest.get("sip_uri", "")))
    return str(dest.get("phone_number", ""))


def _valued(value: str) -> dict[str, str]:
    name = grammar.exact_variable(value)
    return {"type": "dynamic", "value": name} if name else {"type": "static", "value": value}


def _unvalued(obj: Any) -> str:
    if not isinstance(obj, dict):
        return ""
    value = str(obj.get("value", ""))
    return grammar.variable_text(value) if obj.get("type") == "dynamic" else value


def encode_rule(rule: RuleState) -> dict[str, Any]:
    uui = rule.uui
    return {
        "transfer_destination": encode_destination(rule.to),
        "condition": rule.condition,
        "transfer_type": rule.type,
        "custom_sip_headers": [{**_valued(v), "key": k} for k, v in rule.sip_headers],
        "post_dial_digits": _valued(rule.post_dial_digits) if rule.post_dial_digits is not None else None,
        "uui": {
            "data": uui.data,
            "protocol_discriminator": uui.protocol_discriminator,
            "protocol_discriminator_mode": uui.mode,
        }
        if uui is not None
        else None,
        "sip_refer_play_dialtone": rule.play_dialtone,
    }


def transfer_tool(rules: tuple[RuleState, ...]) -> dict[str, Any] | None:
    """The `built_in_tools.transfer_to_number` object; None (remove the tool) for no rules."""
    if not rules:
        return None
    return {
        "type": "system",
        "name": "transfer_to_number",
        "description": describe_transfers(rules),
        "params": {
            "system_tool_type": "transfer_to_number",
            "transfers": [encode_rule(rule) for rule in rules],
            "enable_client_message": any(rule.wait_message is not None for rule in rules),
        },
    }


def _decode_rule(item: Any, said: dict[str, str], client_message: bool) -> RuleState:
    uui = item.get("uui") if isinstance(item.get("uui"), dict) else None
    headers = [h for h in item.get("custom_sip_headers") or [] if isinstance(h, dict)]
    return RuleState(
        to=decode_destination(item.get("transfer_destination") or {"phone_number": item.get("phone_number")}),
        type=str(item.get("transfer_type") or "conference"),
        condition=str(item.get("condition", "")),
        wait_message=said.get("wait_message") if client_message else None,
        handoff_message=said.get("handoff_message"),
        sip_headers=tuple((str(h.get("key", "")), _unvalued(h)) for h in headers),
        post_dial_digits=_unvalued(item["post_dial_digits"]) if item.get("post_dial_digits") else None,
        uui=UuiState(
            data=str(uui.get("data", "")),
            protocol_discriminator=uui.get("protocol_discriminator"),
            mode=str(uui.get("protocol_discriminator_mode") or "prefix"),
        )
        if uui
        else None,
        play_dialtone=item.get("sip_refer_play_dialtone", True) is not False,
    )


def decode_transfers(tool: Any) -> tuple[RuleState, ...]:
    if not isinstance(tool, dict):
        return ()
    params = tool.get("params") or {}
    messages = parse_description(str(tool.get("description") or ""))
    client_message = params.get("enable_client_message", True) is not False
    items = [item for item in params.get("transfers") or [] if isinstance(item, dict)]
    return tuple(_decode_rule(item, messages.get(i, {}), client_message) for i, item in enumerate(items, start=1))


# -- agents -------------------------------------------------------------------------------------


def _dig(obj: Any, *path: str) -> Any:
    for key in path:
        if not isinstance(obj, dict):
            return None
        obj = obj.get(key)
    return obj


PLACEHOLDERS = ("agent", "dynamic_variables", "dynamic_variable_placeholders")
TRANSFER_TOOL = ("agent", "prompt", "built_in_tools", "transfer_to_number")


def live_placeholders(agent: wire.AgentResponse) -> dict[str, Any]:
    found = _dig(agent.conversation_config, *PLACEHOLDERS)
    return dict(found) if isinstance(found, dict) else {}


def agent_webhook(agent: wire.AgentResponse) -> wire.WebhookWire | None:
    """An agent's own pre-call webhook, when it has one of the documented shape."""
    raw = _dig(agent.platform_settings or {}, "workspace_overrides", AGENT_WEBHOOK)
    if not isinstance(raw, dict):
        return None
    try:
        return wire.WebhookWire.model_validate(raw)
    except ValueError:
        return None


def decode_agent(agent: wire.AgentResponse, scope: AgentScope, secret_names: Mapping[str, str]) -> AgentState:
    """Read only the telephony fields `scope` manages; the others stay None (unmanaged)."""
    platform = agent.platform_settings or {}
    fields: dict[str, Any] = {}
    if scope.pre_call_webhook:
        switch = bool(_dig(platform, "overrides", WEBHOOK_SWITCH))
        own = decode_webhook(agent_webhook(agent), secret_names)
        fields["pre_call_webhook"] = (own or True) if switch else False
    if scope.placeholders is not None:
        live = live_placeholders(agent)
        fields["placeholders"] = tuple((k, live[k]) for k in scope.placeholders if live.get(k) is not None)
    if scope.transfers:
        fields["transfers"] = decode_transfers(_dig(agent.conversation_config, *TRANSFER_TOOL))
    if scope.overrides:
        override = _dig(platform, "overrides", "conversation_config_override") or {}
        fields["overrides"] = tuple(name for name, path in OVERRIDE_PATHS.items() if _dig(override, *path) is True)
    return AgentState(**fields)


class AgentEdit(Value):
    """What an agent update changes among the fields the tool owns; None leaves a field alone."""

    pre_call_webhook: bool | WebhookState | None = None
    set_placeholders: tuple[tuple[str, str | int | float | bool], ...] = ()
    remove_placeholders: tuple[str, ...] = ()
    transfers: tuple[RuleState, ...] | None = None
    overrides: tuple[str, ...] | None = None
    # The live webhook has headers the new one drops: clear it, then write it whole (see below).
    clear_webhook_first: bool = False

    def secret_names(self) -> list[str]:
        hook = self.pre_call_webhook
        return hook.secret_names() if isinstance(hook, WebhookState) else []


def overrides_tree(names: tuple[str, ...]) -> dict[str, Any]:
    tree: dict[str, Any] = {}
    for name, path in OVERRIDE_PATHS.items():
        node = tree
        for key in path[:-1]:
            node = node.setdefault(key, {})
        node[path[-1]] = name in names
    return tree


# -- read-modify-write of agent sections ---------------------------------------------------------
#
# The API may deep-merge a PATCH into the stored agent or replace each section sent whole (the
# sources do not say). Sending every section the edit touches whole, as read by a GET made just
# before the write, with only the owned fields changed, gives the same result under both readings.
# A map the edit removes keys from (an agent's own webhook headers) is first cleared (null), then
# written whole: under a deep merge, leaving a key out would keep it.

Tree = dict[str, Any] | int


@lru_cache(maxsize=1)
def request_fields() -> dict[str, Any]:
    """The agent PATCH request-field tree (generated from the spec: tests/test_agent_request_fields.py)."""
    data: dict[str, Any] = json.loads(
        resources.files("provisioner.api").joinpath("agent_request_fields.json").read_text()
    )
    return data


def _only_request_fields(value: Any, tree: Tree) -> Any:
    """`value` without the keys the request schema does not know (response-only keys are never sent)."""
    if not isinstance(value, dict) or not isinstance(tree, dict):
        return copy.deepcopy(value)
    kept: dict[str, Any] = {}
    for key, item in value.items():
        sub = tree.get(key, tree.get("*"))
        if sub is not None:
            kept[key] = _only_request_fields(item, sub)
    return kept


def _section(fresh: wire.AgentResponse, name: str) -> dict[str, Any]:
    raw = fresh.conversation_config if name == "conversation_config" else (fresh.platform_settings or {})
    section = _only_request_fields(raw, request_fields()[name])
    return section if isinstance(section, dict) else {}


def _place(root: dict[str, Any], path: tuple[str, ...], value: Any) -> None:
    node = root
    for key in path[:-1]:
        child = node.get(key)
        if not isinstance(child, dict):
            child = node[key] = {}
        node = child
    node[path[-1]] = value


PLACEHOLDER_PATH = ("agent", "dynamic_variables", "dynamic_variable_placeholders")
TRANSFER_PATH = ("agent", "prompt", "built_in_tools", "transfer_to_number")
SWITCH_PATH = ("overrides", WEBHOOK_SWITCH)
AGENT_WEBHOOK_PATH = ("workspace_overrides", AGENT_WEBHOOK)
OVERRIDE_ROOT = ("overrides", "conversation_config_override")


def owned_paths(edit: AgentEdit) -> list[tuple[str, ...]]:
    """Paths (section first) the edit means to change; everything else in a sent section is unowned."""
    paths: list[tuple[str, ...]] = []
    if edit.transfers is not None:
        paths.append(("conversation_config", *TRANSFER_PATH))
    for key in [k for k, _ in edit.set_placeholders] + list(edit.remove_placeholders):
        paths.append(("conversation_config", *PLACEHOLDER_PATH, key))
    if edit.pre_call_webhook is not None:
        paths += [("platform_settings", *SWITCH_PATH), ("platform_settings", *AGENT_WEBHOOK_PATH)]
    if edit.overrides is not None:
        paths += [("platform_settings", *OVERRIDE_ROOT, *path) for path in OVERRIDE_PATHS.values()]
    return paths


def agent_patches(
    edit: AgentEdit, fresh: wire.AgentResponse, secret_ids: Mapping[str, str]
) -> list[wire.AgentPatchRequest]:
    """The PATCH bodies for `edit`, composed from `fresh` (a GET made just before the write)."""
    conversation: dict[str, Any] | None = None
    platform: dict[str, Any] | None = None
    clear_first: dict[str, Any] | None = None
    if edit.transfers is not None or edit.set_placeholders or edit.remove_placeholders:
        conversation = _section(fresh, "conversation_config")
    if edit.transfers is not None:
        _place(conversation or {}, TRANSFER_PATH, transfer_tool(edit.transfers))
    if conversation is not None and (edit.set_placeholders or edit.remove_placeholders):
        merged = {k: v for k, v in live_placeholders(fresh).items() if v is not None}  # never a null placeholder
        merged.update(dict(edit.set_placeholders))  # keys set elsewhere are kept
        for key in edit.remove_placeholders:
            merged.pop(key, None)
        _place(conversation, PLACEHOLDER_PATH, merged)
    if edit.pre_call_webhook is not None or edit.overrides is not None:
        platform = _section(fresh, "platform_settings")
    if platform is not None and edit.pre_call_webhook is not None:
        hook = edit.pre_call_webhook
        _place(platform, SWITCH_PATH, hook is not False)
        own = hook if isinstance(hook, WebhookState) else None
        encoded = encode_webhook(own, secret_ids)
        _place(platform, AGENT_WEBHOOK_PATH, encoded.model_dump(mode="json") if encoded else None)
        if edit.clear_webhook_first and own is not None:
            clear_first = copy.deepcopy(platform)
            _place(clear_first, AGENT_WEBHOOK_PATH, None)
    if platform is not None and edit.overrides is not None:
        _place(platform, OVERRIDE_ROOT, overrides_tree(edit.overrides))
    bodies: list[wire.AgentPatchRequest] = []
    if clear_first is not None:
        bodies.append(wire.AgentPatchRequest(platform_settings=clear_first))
    fields: dict[str, Any] = {}
    if conversation is not None:
        fields["conversation_config"] = conversation
    if platform is not None:
        fields["platform_settings"] = platform
    if fields:
        bodies.append(wire.AgentPatchRequest(**fields))
    return bodies


def _leaves(value: Any, path: tuple[str, ...] = ()) -> Iterator[tuple[tuple[str, ...], Any]]:
    if isinstance(value, dict) and value:
        for key, item in value.items():
            yield from _leaves(item, (*path, str(key)))
    else:
        yield path, value


# Server-maintained values that change on every write: never an unowned change.
_METADATA = frozenset({"updated_at_unix_secs", "version_id", "branch_id", "main_branch_id", "access_info"})


def unowned_changes(
    before: wire.AgentResponse, after: wire.AgentResponse, edit: AgentEdit
) -> list[tuple[str, Any, Any]]:
    """Values that existed before the write, that the edit did not own, and that changed.

    Keys the API adds (absent before) and server metadata are ignored. Only the sections the
    write sent are compared: the others were not in the request.
    """
    owned = owned_paths(edit)
    sent = {path[0] for path in owned}
    found = []
    for name in sorted(sent):
        old = before.conversation_config if name == "conversation_config" else (before.platform_settings or {})
        new = after.conversation_config if name == "conversation_config" else (after.platform_settings or {})
        for path, value in _leaves(old, (name,)):
            if any(path[: len(p)] == p or p[: len(path)] == path for p in owned) or _METADATA & set(path):
                continue
            current = _dig({name: new}, *path)
            if current != value:
                found.append((".".join(path), value, current))
    return found


def kept_after_removal(after: wire.AgentResponse, edit: AgentEdit) -> list[str]:
    """Placeholder keys the edit removed that the API still holds (it merges this map)."""
    live = live_placeholders(after)
    return [key for key in edit.remove_placeholders if live.get(key) is not None]
