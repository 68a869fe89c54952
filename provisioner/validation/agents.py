"""Agents: transfer rules, dynamic variables, the pre-call webhook switch."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterator

from provisioner import grammar
from provisioner.manifest import Agent, PhoneNumber, SipTrunkNumber, TransferRule, TwilioNumber
from provisioner.validation.context import Context

Path = tuple[str | int, ...]


def check(context: Context) -> None:
    ids: dict[str, str] = {}
    answered = _answered(context)
    for alias, agent in context.manifest.agents.items():
        path: Path = ("agents", alias)
        if agent.id in ids:
            message = f"agent id {agent.id} is already managed as '{ids[agent.id]}'; one alias per agent"
            context.error((*path, "id"), message, "duplicate-agent")
        ids.setdefault(agent.id, alias)
        numbers = answered(alias)
        _placeholders(context, path, agent)
        _pre_call_webhook(context, path, agent)
        for index, rule in enumerate(agent.transfers or []):
            _transfer(context, (*path, "transfers", index), alias, rule, numbers)
        _malformed_variables(context, path, agent)
        if numbers is not None:
            _variables_provided(context, path, agent, numbers)


def _answered(context: Context) -> Callable[[str], dict[str, PhoneNumber] | None]:
    """For an agent alias, the numbers it answers (a caller-ID-only number answers nothing), or
    None when that is unknown: a number the file gives this agent was cut for schema errors.

    Grouped in one pass over the numbers: asked per agent, a scan each would be agents x numbers."""
    written = context.raw("phone_numbers")
    if context.unsure("phone_numbers") and not isinstance(written, dict):
        return lambda alias: None
    unknown = {
        number.get("agent")
        for name, number in (written or {}).items()
        if isinstance(number, dict) and isinstance(number.get("agent"), str) and context.unsure("phone_numbers", name)
    }
    answering: defaultdict[str, dict[str, PhoneNumber]] = defaultdict(dict)
    for name, number in context.manifest.phone_numbers.items():
        if number.agent is not None and not (isinstance(number, TwilioNumber) and number.twilio.caller_id_only):
            answering[number.agent][name] = number
    return lambda alias: None if alias in unknown else dict(answering.get(alias, {}))


def _placeholders(context: Context, path: Path, agent: Agent) -> None:
    for name in agent.dynamic_variables or {}:
        where = (*path, "dynamic_variables", name)
        if name.startswith("system__"):
            message = f"'{name}': the system__ prefix is reserved for the platform's own variables"
            context.error(where, message, "reserved-variable", at="key")
        elif not grammar.VARIABLE_NAME.match(name):
            context.error(where, f"'{name}' is not a dynamic variable name", "variable-name", at="key")


def _pre_call_webhook(context: Context, path: Path, agent: Agent) -> None:
    if agent.pre_call_webhook is not True or context.unsure("pre_call_webhook"):
        return
    manifest = context.manifest
    if manifest.declares("pre_call_webhook") and manifest.pre_call_webhook is None:
        message = (
            "pre_call_webhook: true uses the workspace webhook, but this manifest clears it (pre_call_webhook: null)"
        )
        context.error((*path, "pre_call_webhook"), message, "pre-call-webhook")
    elif not manifest.declares("pre_call_webhook"):
        message = (
            "pre_call_webhook: true uses the workspace webhook, which this manifest does not declare; "
            "it must exist in the workspace"
        )
        context.warning((*path, "pre_call_webhook"), message, "pre-call-webhook")


def _transfer(
    context: Context, path: Path, alias: str, rule: TransferRule, numbers: dict[str, PhoneNumber] | None
) -> None:
    to, _ = context.value_to_check((*path, "to"), rule.to)  # a ${VAR} here is an error of its own
    destination = grammar.parse_destination(to) if to is not None else None
    if to is not None and (problem := grammar.destination_problem(to)):
        context.error((*path, "to"), problem, "transfer-destination")
    sip_kinds = (grammar.DestinationKind.SIP_URI, grammar.DestinationKind.SIP_URI_VARIABLE)
    if destination is not None and destination.kind in sip_kinds and rule.type != "sip_refer":
        message = f"a SIP URI destination needs type: sip_refer (only SIP REFER can reach a SIP URI), not {rule.type}"
        context.error((*path, "type"), message, "sip-uri-needs-refer")
    if rule.type == "sip_refer" and numbers is not None:
        _fits(context, path, alias, numbers, SipTrunkNumber, "sip_refer", "a SIP trunk")
    if rule.type == "blind" and numbers is not None:
        _fits(context, path, alias, numbers, TwilioNumber, "blind", "a native Twilio")
    _sip_headers(context, (*path, "sip_headers"), rule.sip_headers)
    _extras(context, path, alias, rule, numbers)


def _fits(
    context: Context, path: Path, alias: str, numbers: dict[str, PhoneNumber], kind: type, label: str, what: str
) -> None:
    where, code = (*path, "type"), f"{label.replace('_', '-')}-transfer"
    rule = f"{label} transfers work only on calls to {what} number"
    fitting = [name for name, number in numbers.items() if isinstance(number, kind)]
    others = [name for name in numbers if name not in fitting]
    if not numbers:
        context.warning(where, f"{rule}, and agent '{alias}' answers none declared here", code)
    elif not fitting:
        context.error(where, f"{rule}; agent '{alias}' answers only {', '.join(others)}", code)
    elif others:
        context.warning(where, f"{rule}; on calls to {', '.join(others)} this one fails", code)


def _sip_headers(context: Context, path: Path, headers: dict[str, str]) -> None:
    if len(headers) > grammar.MAX_SIP_HEADERS:
        message = f"{len(headers)} SIP headers; the API accepts at most {grammar.MAX_SIP_HEADERS} per transfer"
        context.error(path, message, "sip-header-count", at="key")
    for key, value in headers.items():
        if not (grammar.SIP_HEADER_KEY.match(key) and len(key) <= grammar.MAX_SIP_HEADER_KEY):
            message = f"'{key}' is not a SIP header name (letters and digits in dash-separated words, at most 64)"
            context.error((*path, key), message, "sip-header-key", at="key")
        if grammar.exact_variable(value) or grammar.malformed_variables(value):
            continue  # a malformed {{...}} is reported by _malformed_variables
        if grammar.variable_names(value):
            message = "only a value that is exactly {{variable}} is dynamic; this one is sent as literal text"
            context.warning((*path, key), message, "sip-header-value")
        elif not grammar.SIP_HEADER_VALUE.match(value):
            message = "a SIP header value is 1 to 512 printable ASCII characters"
            context.error((*path, key), message, "sip-header-value")


def _extras(
    context: Context, path: Path, alias: str, rule: TransferRule, numbers: dict[str, PhoneNumber] | None
) -> None:
    digits = rule.post_dial_digits
    if digits is not None and not grammar.exact_variable(digits) and not grammar.DTMF.match(digits):
        message = "post_dial_digits takes DTMF digits 0-9, *, #, and w/W (a pause), or exactly {{variable}}"
        if problem := grammar.variable_problem(digits):
            message = f"{problem}; {message}"
        context.error((*path, "post_dial_digits"), message, "post-dial-digits")
    if digits is not None and numbers is not None and not any(isinstance(n, TwilioNumber) for n in numbers.values()):
        message = f"post_dial_digits are sent only on Twilio calls, and agent '{alias}' answers no Twilio number"
        context.warning((*path, "post_dial_digits"), message, "post-dial-digits")
    if rule.uui is not None:
        pd = rule.uui.protocol_discriminator
        if pd is not None and not grammar.PROTOCOL_DISCRIMINATOR.match(pd):
            message = "protocol_discriminator: must be two hex digits, e.g. '04'"
            context.error((*path, "uui", "protocol_discriminator"), message, "uui")
        if rule.type != "sip_refer":
            context.warning((*path, "uui"), "uui is sent only with a sip_refer transfer", "uui")


def _variables_provided(context: Context, path: Path, agent: Agent, numbers: dict[str, PhoneNumber]) -> None:
    if agent.pre_call_webhook:  # the webhook may return any variable: nothing to check against
        return
    if context.unsure(*path, "pre_call_webhook") or context.unsure(*path, "dynamic_variables"):
        return  # what this agent provides was cut for schema errors: unknown
    # A key set to null removes that placeholder: it no longer provides the variable.
    declared = {name for name, value in (agent.dynamic_variables or {}).items() if value is not None}
    provided = declared | grammar.SYSTEM_VARIABLES
    for number in numbers.values():
        name = getattr(number, "sip_trunk", "")
        if context.unsure("sip_trunks", name, "inbound"):
            return  # the trunk's header variables are unknown
        trunk = context.manifest.sip_trunks.get(name)
        if trunk is not None and trunk.inbound is not None:
            provided |= set(trunk.inbound.attributes_to_headers)
    for where, text in _texts(path, agent):
        for name in grammar.variable_names(text):
            if name in provided:
                continue
            if name.startswith("system__"):
                message = f"'{{{{{name}}}}}' is not a known system variable"
            elif name in (agent.dynamic_variables or {}):
                message = f"'{{{{{name}}}}}' is not provided: dynamic_variables sets it to null, which removes it"
            else:
                message = f"'{{{{{name}}}}}' is not provided: add it to dynamic_variables (or use a pre-call webhook)"
            context.warning(where, message, "undefined-variable")


def _malformed_variables(context: Context, path: Path, agent: Agent) -> None:
    """A `{{...}}` that holds no valid variable name is sent as literal text: warn where it is.

    `to` and `post_dial_digits` are left out: there it is an error, reported by their own rules.
    """
    for where, text in _texts(path, agent):
        if where[-1] in ("to", "post_dial_digits"):
            continue
        if problem := grammar.variable_problem(text):
            context.warning(where, f"{problem}; it is sent as literal text", "variable-name")


def _texts(path: Path, agent: Agent) -> Iterator[tuple[Path, str]]:
    for index, rule in enumerate(agent.transfers or []):
        where = (*path, "transfers", index)
        for field in ("to", "condition", "wait_message", "handoff_message", "post_dial_digits"):
            value = getattr(rule, field)
            if value is not None:
                yield (*where, field), value
        for key, value in rule.sip_headers.items():
            yield (*where, "sip_headers", key), value
