"""Phone numbers: E.164, duplicates, references to agents and trunks, Twilio credentials."""

from __future__ import annotations

from provisioner import grammar
from provisioner.manifest import TwilioNumber
from provisioner.validation.context import Context, did_you_mean


def check(context: Context) -> None:
    _numbers(context)
    _duplicates(context)
    _references(context)
    for name, number in context.manifest.phone_numbers.items():
        if isinstance(number, TwilioNumber):
            _twilio(context, name, number)


def _numbers(context: Context) -> None:
    for name, number in context.manifest.phone_numbers.items():
        value, _ = context.value_to_check(("phone_numbers", name, "number"), number.number)
        if value is not None and not grammar.is_e164(value):
            context.error(("phone_numbers", name, "number"), grammar.e164_problem(value), "e164")


def _duplicates(context: Context) -> None:
    seen: dict[str, str] = {}
    for name, number in context.manifest.phone_numbers.items():
        key = grammar.normalise_e164(number.number)  # one number however it is punctuated
        if key not in seen:
            seen[key] = name
            continue
        first = seen[key]
        first_line = context.line(("phone_numbers", first, "number"))
        this_line = context.line(("phone_numbers", name, "number"))
        context.error(
            ("phone_numbers", first, "number"),
            f"number {key} is declared twice: here ('{first}') and at line {this_line} ('{name}')",
            "duplicate-number",
        )
        context.error(
            ("phone_numbers", name, "number"),
            f"number {key} is declared twice: here ('{name}') and at line {first_line} ('{first}')",
            "duplicate-number",
        )


def _references(context: Context) -> None:
    manifest = context.manifest
    for name, number in manifest.phone_numbers.items():
        agent = number.agent
        if agent is not None and agent not in manifest.agents and not context.is_broken("agents", agent):
            hint = did_you_mean(agent, list(manifest.agents)) or _declared(list(manifest.agents), "agents")
            context.error(("phone_numbers", name, "agent"), f"unknown agent '{agent}'{hint}", "unknown-agent")
        trunk = getattr(number, "sip_trunk", None)
        if trunk is not None and trunk not in manifest.sip_trunks and not context.is_broken("sip_trunks", trunk):
            hint = did_you_mean(trunk, list(manifest.sip_trunks)) or _declared(list(manifest.sip_trunks), "sip_trunks")
            context.error(("phone_numbers", name, "sip_trunk"), f"unknown SIP trunk '{trunk}'{hint}", "unknown-trunk")


def _declared(names: list[str], section: str) -> str:
    return f" (declared: {', '.join(names)})" if names else f" (no {section} are declared)"


def _twilio(context: Context, name: str, number: TwilioNumber) -> None:
    path = ("phone_numbers", name, "twilio")
    twilio = number.twilio
    sid, shown = context.value_to_check((*path, "account_sid"), twilio.account_sid)
    if sid is not None and not grammar.TWILIO_SID.match(sid):
        message = f"{shown} is not a Twilio SID: 'AC' (account) or 'SK' (API key) followed by 32 hex digits"
        context.error((*path, "account_sid"), message, "twilio-sid")
    cut = context.unsure(*path, "account_auth_token")
    if sid is not None and sid.startswith("SK") and twilio.account_auth_token is None and not cut:
        message = "an API key SID (SK...) needs account_auth_token (the account's auth token, to verify webhooks)"
        context.error((*path, "account_sid"), message, "twilio-api-key")
    if sid is not None and sid.startswith("AC") and twilio.account_auth_token is not None:
        message = "account_auth_token is only used with an API key SID (SK...); auth_token already is the account's"
        context.warning((*path, "account_auth_token"), message, "twilio-api-key")
    if twilio.caller_id_only and number.agent is not None:
        message = (
            "a caller-ID-only number is outbound-only (supports_inbound: false), so no agent answers it; "
            "remove 'agent' (outbound calls name their agent per call)"
        )
        context.error(("phone_numbers", name, "agent"), message, "caller-id-agent")
