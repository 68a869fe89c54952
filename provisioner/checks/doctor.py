"""`telephony doctor`: the troubleshooting table, checked.

`shared/reference/telephony-reference.md`, "Troubleshooting":

| Connection failed | Check firewall allows SIP ports (5060 TCP, 5061 TLS) |
| Audio issues      | Verify μ-law 8kHz format, check RTP ports             |
| Auth failed       | Verify digest credentials, check ACL if used          |
| TLS errors        | Validate provider certificates                        |

So: the API key reaches the workspace (a cheap authenticated GET), every `${VAR}` the manifest
uses is set, each declared agent exists, each trunk's outbound address resolves and accepts TCP
on its `:port` (else 5060 for tcp/auto, 5061 for tls; udp is not probed: the references say it
is unavailable) and, for tls, presents a certificate valid for the host (or an
`inbound.remote_domains` entry) and not expired; offered codecs include μ-law 8 kHz
(`PCMU/8000`) or are left empty (all offered); each webhook host resolves and completes a TLS
handshake. RTP ports and digest passwords cannot be checked from here.

Never prints a secret value: variables are named, never shown.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Mapping
from urllib.parse import urlsplit

from provisioner import grammar
from provisioner.api.client import ApiError, ElevenLabsClient
from provisioner.checks import net
from provisioner.checks.endpoints import TCP_PORT, TLS_PORT, UDP_WARNING
from provisioner.checks.result import Check, fail, ok, warn
from provisioner.manifest import Manifest, SipTrunk, Webhook

AUTH_FIX = (
    "check ELEVENLABS_API_KEY, and that the API URL (--api-url, ELEVENLABS_BASE_URL, workspace.region) is its workspace"
)
MULAW = "PCMU/8000"  # μ-law 8 kHz, the format the troubleshooting table names


def _strings(value: object) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for item in value.values() for s in _strings(item)]
    if isinstance(value, list | tuple):
        return [s for item in value for s in _strings(item)]
    return []


def manifest_variables(manifest: Manifest) -> dict[str, list[str]]:
    """Every `${VAR}` the manifest references, in file order: name -> the values that use it."""
    found: dict[str, list[str]] = {}
    for value in _strings(manifest.model_dump(exclude={"environments"})):
        for name in grammar.references(value):
            found.setdefault(name, []).append(value)
    return found


def check_variables(manifest: Manifest, environ: Mapping[str, str], *, sandbox: bool = False) -> list[Check]:
    checks: list[Check] = []
    for name, values in manifest_variables(manifest).items():
        if name in environ:
            checks.append(ok("variable", name, "set"))
        elif all(grammar.has_default(value, name) for value in values):
            checks.append(warn("variable", name, "not set; its :-default is used", f"export {name}"))
        elif sandbox:
            checks.append(warn("variable", name, "not set (the sandbox sends a dummy)", f"export {name}"))
        else:
            checks.append(fail("variable", name, "not set", f"export {name} (the manifest references it)"))
    return checks


def api_budget(timeout: float) -> float:
    """Seconds one API check may take, retries included."""
    return max(4 * timeout, 10.0)


async def check_api_key(
    client: ElevenLabsClient | None, key_problem: str | None, api_url: str, timeout: float = 5.0
) -> Check:
    if client is None or key_problem is not None:
        return fail("api-key", api_url, key_problem or "no API key", AUTH_FIX)
    try:
        # The client retries 5xx and dropped connections; the check still ends in bounded time.
        await asyncio.wait_for(client.get_settings(), api_budget(timeout))
    except TimeoutError:
        return fail(
            "api-key", api_url, f"no answer within {api_budget(timeout):g}s", "check the API URL and the network"
        )
    except ApiError as exc:
        if exc.status in (401, 403):
            return fail("api-key", api_url, f"the key was refused (HTTP {exc.status}): {exc.message}", AUTH_FIX)
        return fail("api-key", api_url, str(exc), "check the API URL and the network; retry later on a 5xx")
    return ok("api-key", api_url, "the key reads the workspace's settings (GET /v1/convai/settings)")


async def check_agent(
    client: ElevenLabsClient | None, usable: bool, alias: str, agent_id: str, timeout: float = 5.0
) -> Check:
    if client is None or not usable:
        return warn("agent", alias, f"{agent_id}: not checked (the API key check failed)", "fix the API key first")
    try:
        await asyncio.wait_for(client.get_agent(agent_id), api_budget(timeout))
    except TimeoutError:
        return fail(
            "agent", alias, f"{agent_id}: no answer within {api_budget(timeout):g}s", "retry; check the network"
        )
    except ApiError as exc:
        if exc.status == 404:
            return fail(
                "agent",
                alias,
                f"{agent_id} does not exist in this workspace",
                "check the agent's id, and that the key and API URL are for the workspace that has it",
            )
        return fail("agent", alias, f"{agent_id}: {exc}", "retry; check the API URL")
    return ok("agent", alias, f"{agent_id} exists")


def split_address(address: str) -> tuple[str, int | None]:
    """host and port of a trunk address (`host`, `host:port`, `[v6]:port`); validated by `validate`."""
    host, port = grammar.split_host_port(address)
    return host, int(port) if port and port.isdigit() else None


async def check_trunk(name: str, trunk: SipTrunk, timeout: float, environ: Mapping[str, str]) -> list[Check]:
    outbound = trunk.outbound
    if outbound is None:
        return []
    checks: list[Check] = []
    codecs = list(outbound.codecs)
    if not codecs:
        checks.append(ok("codecs", name, "no codec list: every codec is offered, PCMU/8000 included"))
    elif MULAW in codecs:
        checks.append(ok("codecs", name, f"{', '.join(codecs)} include {MULAW}"))
    else:
        checks.append(
            fail(
                "codecs",
                name,
                f"{', '.join(codecs)}: no {MULAW} (μ-law 8 kHz)",
                f"add {MULAW} to sip_trunks.{name}.outbound.codecs, or leave the list empty",
            )
        )
    problem = grammar.sip_address_problem(outbound.address)
    if problem:
        return [fail("trunk-address", name, problem, f"fix sip_trunks.{name}.outbound.address"), *checks]
    host, given = split_address(outbound.address)
    transport = outbound.transport
    port = given or (TLS_PORT if transport == "tls" else TCP_PORT)
    subject = f"{name} {host}:{port}"
    resolved = await net.resolve(host, port, timeout)
    if not resolved.ok:
        return [fail("trunk-dns", name, resolved.message, resolved.fix), *checks]
    found = [ok("trunk-dns", name, resolved.message)]
    if transport == "udp":
        found.append(
            warn(
                "trunk-tcp",
                subject,
                f"transport udp: not probed ({UDP_WARNING})",
                f"set sip_trunks.{name}.outbound.transport to tcp or tls",
            )
        )
    elif transport == "tls":
        probe = await net.tls_handshake(
            host, port, timeout, names=(trunk.inbound.remote_domains or []) if trunk.inbound else [], environ=environ
        )
        found.append(_from_probe("trunk-tls", subject, probe))
    else:
        probe = await net.connect(host, port, timeout)
        found.append(_from_probe("trunk-tcp", subject, probe))
    return found + checks


async def check_webhook(where: str, hook: Webhook, timeout: float, environ: Mapping[str, str]) -> list[Check]:
    try:
        parts = urlsplit(hook.url)
        host, port = parts.hostname or "", parts.port
    except ValueError:
        return [fail("webhook", where, f"{hook.url!r} is not a valid URL", "fix the webhook url")]
    if not host:
        return [fail("webhook", where, f"{hook.url!r} has no host", "fix the webhook url")]
    port = port or (443 if parts.scheme == "https" else 80)
    subject = f"{where} {host}:{port}"
    resolved = await net.resolve(host, port, timeout)
    if not resolved.ok:
        return [fail("webhook-dns", subject, resolved.message, resolved.fix)]
    checks = [ok("webhook-dns", subject, resolved.message)]
    if parts.scheme != "https":
        checks.append(warn("webhook-tls", subject, "plain http (local testing only): no TLS", "use an https URL"))
        return checks
    probe = await net.tls_handshake(host, port, timeout, environ=environ)
    checks.append(_from_probe("webhook-tls", subject, probe))
    return checks


def _from_probe(name: str, subject: str, probe: net.Probe) -> Check:
    if not probe.ok:
        return fail(name, subject, probe.message, probe.fix)
    if probe.warning:
        return warn(name, subject, f"{probe.message}; {probe.warning}", probe.warning)
    return ok(name, subject, probe.message)


def webhooks(manifest: Manifest) -> list[tuple[str, Webhook]]:
    """(where, webhook) for the workspace webhook and each agent's own, each URL once."""
    found: list[tuple[str, Webhook]] = []
    seen: set[str] = set()
    candidates: list[tuple[str, Webhook | bool | None]] = [("workspace", manifest.pre_call_webhook)]
    candidates += [(f"agent {alias}", agent.pre_call_webhook) for alias, agent in manifest.agents.items()]
    for where, hook in candidates:
        if isinstance(hook, Webhook) and hook.url not in seen:
            seen.add(hook.url)
            found.append((where, hook))
    return found


async def run(
    manifest: Manifest,
    *,
    client: ElevenLabsClient | None,
    api_url: str,
    key_problem: str | None = None,
    environ: Mapping[str, str],
    timeout: float = 5.0,
    sandbox: bool = False,
) -> list[Check]:
    """Every check, in a fixed order (API, variables, agents, trunks, webhooks); probes run concurrently."""
    key = await check_api_key(client, key_problem, api_url, timeout)
    usable = key.status == "ok"
    probes: list[Awaitable[list[Check]]] = []

    async def one(check: Awaitable[Check]) -> list[Check]:
        return [await check]

    for alias, agent in manifest.agents.items():
        probes.append(one(check_agent(client, usable, alias, agent.id, timeout)))
    for name, trunk in manifest.sip_trunks.items():
        probes.append(check_trunk(name, trunk, timeout, environ))
    for where, hook in webhooks(manifest):
        probes.append(check_webhook(where, hook, timeout, environ))
    results = await asyncio.gather(*probes)
    checks = [key, *check_variables(manifest, environ, sandbox=sandbox)]
    for result in results:
        checks += result
    return checks
