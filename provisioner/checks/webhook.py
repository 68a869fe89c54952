"""`telephony webhook test`: send the request ElevenLabs sends before a call, check the answer.

The request and the answer's shape are copied from `shared/reference/elevenlabs-api.md` §7
("How the webhook is called at runtime", from the Twilio personalization docs):

* ElevenLabs sends `POST <url>` with JSON `{caller_id, agent_id, called_number, call_sid}` and
  the configured `request_headers`, with secrets resolved;
* the receiver answers `{"type": "conversation_initiation_client_data", "dynamic_variables":
  {...}, "conversation_config_override": {...}}`.

Dynamic variable values must be scalars (string, number, boolean), as the manifest's
`dynamic_variables` are. Header values are resolved from the environment (`${VAR}`) only for
the request; what is printed shows the written form (`Bearer ${CRM_TOKEN}`), never the value.
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from provisioner import grammar
from provisioner.checks import net
from provisioner.checks.result import Check, fail, ok
from provisioner.errors import ConfigError
from provisioner.manifest import Agent, Manifest, Webhook

RESPONSE_TYPE = "conversation_initiation_client_data"  # elevenlabs-api.md §7
DEFAULT_CALLER = "+12025550123"  # 555-0100..0199: numbers reserved for fiction
DEFAULT_CALLED = "+12025550100"
WORKSPACE_AGENT_ID = "agent_telephony_webhook_test"  # only when the manifest declares no agent
MASK = "****"
MAX_SHOWN_BODY = 4000


class WebhookTestError(ConfigError):
    """There is nothing to test (no webhook for the agent, an unknown alias, an unset variable)."""


@dataclass(frozen=True)
class Selected:
    url: str
    headers: Mapping[str, object]  # as written in the manifest
    source: str  # "agent 'support'" or "workspace"
    agent_alias: str | None
    agent: Agent | None


@dataclass
class WebhookReport:
    url: str
    source: str
    body: dict[str, str]
    headers: dict[str, str]  # as shown: secrets masked
    notes: list[str] = field(default_factory=list)
    status: int | None = None
    elapsed: float | None = None
    response: str | None = None  # as shown: truncated, secret values masked
    checks: list[Check] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        from provisioner.checks.result import FORMAT_VERSION, summary

        return {
            "format_version": FORMAT_VERSION,
            "url": self.url,
            "source": self.source,
            "request": {"method": "POST", "headers": self.headers, "body": self.body},
            "notes": self.notes,
            "response": {"status": self.status, "elapsed_seconds": self.elapsed, "body": self.response},
            "checks": [c.as_json() for c in self.checks],
            "summary": summary(self.checks),
        }


def select(manifest: Manifest, alias: str | None) -> Selected:
    """The webhook the agent `alias` uses: its own, else the workspace one."""
    if alias is None:
        if len(manifest.agents) > 1:
            names = ", ".join(manifest.agents)
            raise WebhookTestError(f"the manifest declares several agents: pass --agent ALIAS (one of {names})")
        alias = next(iter(manifest.agents), None)
    if alias is not None and alias not in manifest.agents:
        names = ", ".join(manifest.agents) or "none declared"
        raise WebhookTestError(f"--agent {alias!r} is not an agent alias in the manifest (agents: {names})")
    agent = manifest.agents[alias] if alias is not None else None
    hook = agent.pre_call_webhook if agent is not None else None
    if hook is False:
        raise WebhookTestError(f"agent {alias!r} has pre_call_webhook: false (no webhook is called for it)")
    if isinstance(hook, Webhook):
        return Selected(hook.url, dict(hook.headers), f"agent '{alias}'", alias, agent)
    workspace = manifest.pre_call_webhook
    if workspace is None:
        whose = f"agent {alias!r} has no webhook of its own and " if alias is not None else ""
        raise WebhookTestError(f"{whose}the manifest declares no workspace pre_call_webhook: nothing to test")
    return Selected(workspace.url, dict(workspace.headers), "workspace", alias, agent)


def required_variables(agent: Agent | None) -> dict[str, list[str]]:
    """Dynamic variables the agent's transfer rules, messages and placeholders use: name -> where.

    Placeholders are the keys of the agent's `dynamic_variables` (a null one is being removed);
    `system__` variables are filled in by the platform and never required from the webhook.
    """
    used: dict[str, list[str]] = {}

    def note(text: str | None, where: str) -> None:
        for name in grammar.variable_names(text or ""):
            add(name, where)

    def add(name: str, where: str) -> None:
        if name.startswith("system__"):
            return
        places = used.setdefault(name, [])
        if where not in places:
            places.append(where)

    if agent is None:
        return used
    for key, value in (agent.dynamic_variables or {}).items():
        if value is not None:
            add(key, "dynamic_variables")
            if isinstance(value, str):
                note(value, f"dynamic_variables.{key}")
    for index, rule in enumerate(agent.transfers or []):
        where = f"transfers[{index}]"
        note(rule.to, f"{where}.to")
        note(rule.condition, f"{where}.condition")
        note(rule.wait_message, f"{where}.wait_message")
        note(rule.handoff_message, f"{where}.handoff_message")
        for header, value in rule.sip_headers.items():
            note(value, f"{where}.sip_headers.{header}")
        note(rule.post_dial_digits, f"{where}.post_dial_digits")
        if rule.uui is not None:
            note(rule.uui.data, f"{where}.uui.data")
    return used


def called_number(manifest: Manifest, alias: str | None) -> str:
    """The first number assigned to the agent, else a fictional one."""
    for number in manifest.phone_numbers.values():
        if alias is not None and number.agent == alias:
            return number.number
    return DEFAULT_CALLED


@dataclass(frozen=True)
class Prepared:
    headers: dict[str, str]  # sent: resolved
    shown: dict[str, str]  # printed: written form or masked
    secrets: list[str]  # resolved secret values, to mask in what comes back
    notes: list[str]


def prepare_headers(headers: Mapping[str, object], environ: Mapping[str, str]) -> Prepared:
    """Resolve `${VAR}`s for sending; raises `WebhookTestError` naming an unset variable."""
    sent: dict[str, str] = {"Content-Type": "application/json"}
    shown: dict[str, str] = {"Content-Type": "application/json"}
    secrets: list[str] = []
    notes: list[str] = []
    unset: list[str] = []
    for name, value in headers.items():
        if not isinstance(value, str):
            # e.g. a future `{secret: name}` form: a workspace secret's value cannot be read back.
            notes.append(f"header {name}: not sent (a stored workspace secret; its value cannot be read back)")
            continue
        missing = grammar.unset_references(value, environ)
        if missing:
            unset += [n for n in missing if n not in unset]
            continue
        resolved = grammar.resolve_references(value, environ)
        sent[name] = resolved
        if grammar.has_reference(value):
            shown[name] = value
            secrets += [resolved, *(environ.get(n, "") for n in grammar.references(value))]
        elif grammar.is_credential_header(name):
            shown[name] = MASK
            secrets.append(resolved)
        else:
            shown[name] = value
    if unset:
        raise WebhookTestError(
            f"environment variable(s) not set: {', '.join(unset)} (used in the webhook's headers); "
            "export them and re-run"
        )
    return Prepared(sent, shown, [s for s in secrets if len(s) >= 4], notes)


def mask(text: str, secrets: list[str]) -> str:
    for secret in sorted(set(secrets), key=len, reverse=True):
        text = text.replace(secret, MASK)
    return text


async def run(
    manifest: Manifest,
    *,
    alias: str | None = None,
    caller: str | None = None,
    called: str | None = None,
    timeout: float = 5.0,
    environ: Mapping[str, str],
) -> WebhookReport:
    """Send the pre-call request to the agent's webhook and check the answer."""
    import httpx

    selected = select(manifest, alias)
    prepared = prepare_headers(selected.headers, environ)
    body = {
        "caller_id": caller or DEFAULT_CALLER,
        "agent_id": selected.agent.id if selected.agent is not None else WORKSPACE_AGENT_ID,
        "called_number": called or called_number(manifest, selected.agent_alias),
        "call_sid": "CA" + uuid.uuid4().hex,  # Twilio-like; a test call, never a real one
    }
    report = WebhookReport(selected.url, selected.source, body, prepared.shown, list(prepared.notes))
    if selected.agent is None:
        report.notes.append(f"no agent declared: agent_id {WORKSPACE_AGENT_ID} is a placeholder")
    started = time.monotonic()
    try:
        async with httpx.AsyncClient(
            verify=net.ssl_context(environ), timeout=httpx.Timeout(timeout), follow_redirects=False
        ) as client:
            response = await asyncio.wait_for(
                client.post(selected.url, content=json.dumps(body), headers=prepared.headers), timeout
            )
            text = response.text
    except (TimeoutError, httpx.TimeoutException):
        report.checks.append(
            fail(
                "answer",
                selected.url,
                f"no answer within {timeout:g}s",
                "answer faster (ElevenLabs waits only briefly before the call connects), or raise --timeout to see",
            )
        )
        return report
    except httpx.HTTPError as exc:
        report.checks.append(
            fail(
                "answer",
                selected.url,
                f"request failed: {mask(str(exc), prepared.secrets) or type(exc).__name__}",
                "check the URL, that the server is up, and its TLS certificate",
            )
        )
        return report
    report.elapsed = round(time.monotonic() - started, 3)
    report.status = response.status_code
    shown = mask(text, prepared.secrets)
    report.response = shown if len(shown) <= MAX_SHOWN_BODY else shown[:MAX_SHOWN_BODY] + "… (truncated)"
    report.checks += check_answer(response.status_code, text, report.elapsed, selected)
    return report


def check_answer(status: int, text: str, elapsed: float, selected: Selected) -> list[Check]:
    """The checks of one answer (pure: the tests call it directly too)."""
    url = selected.url
    if status != 200:
        return [fail("answer", url, f"HTTP {status} (expected 200)", "fix the webhook so it answers 200")]
    checks = [ok("answer", url, f"HTTP 200 in {elapsed:.2f}s")]
    try:
        data = json.loads(text)
    except ValueError:
        return [*checks, fail("json", url, "the body is not JSON", "answer with a JSON object")]
    if not isinstance(data, dict):
        return [
            *checks,
            fail("json", url, f"the body is JSON {type(data).__name__}, not an object", "answer an object"),
        ]
    checks.append(ok("json", url, "the body is a JSON object"))
    kind = data.get("type")
    if kind == RESPONSE_TYPE:
        checks.append(ok("type", url, f'type is "{RESPONSE_TYPE}"'))
    else:
        checks.append(fail("type", url, f"type is {json.dumps(kind)}", f'answer "type": "{RESPONSE_TYPE}"'))
    variables = data.get("dynamic_variables")
    if not isinstance(variables, dict):
        what = "missing" if variables is None else f"a JSON {type(variables).__name__}, not an object"
        checks.append(
            fail(
                "dynamic_variables", url, f"dynamic_variables is {what}", 'answer "dynamic_variables": {"name": value}'
            )
        )
        variables = {}
    else:
        nested = sorted(k for k, v in variables.items() if not _scalar(v))
        if nested:
            checks.append(
                fail(
                    "dynamic_variables",
                    url,
                    f"not scalar (string, number, boolean): {', '.join(nested)}",
                    "send each variable as a string, number or boolean (flatten lists and objects)",
                )
            )
        else:
            checks.append(ok("dynamic_variables", url, f"{len(variables)} variable(s), all scalar"))
    override = data.get("conversation_config_override")
    if override is not None and not isinstance(override, dict):
        checks.append(
            fail("conversation_config_override", url, "is not an object", "send an object, or leave the key out")
        )
    required = required_variables(selected.agent)
    if required:
        missing = [name for name in required if name not in variables]
        if missing:
            where = "; ".join(f"{name} (used in {', '.join(required[name])})" for name in missing)
            checks.append(
                fail("variables", url, f"missing: {where}", "return every variable the agent uses in dynamic_variables")
            )
        else:
            checks.append(ok("variables", url, f"every variable the agent uses is present ({', '.join(required)})"))
    return checks


def _scalar(value: object) -> bool:
    return isinstance(value, str | int | float | bool)
