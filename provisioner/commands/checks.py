"""`telephony webhook test`, `telephony endpoints`, `telephony doctor`: operational checks.

Exit codes: 0 every check passed (warnings allowed) / 1 a check failed, or an error (bad
manifest, unknown --agent, an unset variable the request needs). `endpoints` is offline and
exits 0 unless the manifest cannot be loaded. The logic lives in `provisioner.checks`; this
module parses options, prints, and maps results to exit codes. Nothing printed holds a secret.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from provisioner.commands import options, usage
from provisioner.commands.reconcile import Common, _run, common, err, fail, handled
from provisioner.commands.validate import parse_vars
from provisioner.diagnostic_codes import UNSET_VARIABLE
from provisioner.exitcodes import ExitCode

if TYPE_CHECKING:
    from provisioner.checks.result import Check
    from provisioner.manifest import Manifest

FORMATS = click.Choice(["text", "json"])
TIMEOUT = click.FloatRange(0.1, 120.0)


def _load(path: Path | None, env: str | None, variables: tuple[str, ...]) -> Manifest:
    from provisioner.library import load_manifest

    loaded = load_manifest(path or Path("telephony.yaml"), env, parse_vars(variables))
    for warning in loaded.warnings:
        if warning.code != UNSET_VARIABLE:  # doctor checks them; webhook test names what it needs
            err(str(warning))
    return loaded.manifest


def _echo_json(data: Any) -> None:
    click.echo(json.dumps(data, indent=2, ensure_ascii=False))


def check_line(check: Check) -> str:
    line = f"{check.status:<5} {check.name:<18} {check.subject}: {check.message}"
    if check.status != "ok" and check.fix:
        line += f" (fix: {check.fix})"
    return line


def _summary_line(title: str, checks: list[Check]) -> str:
    from provisioner.checks.result import summary

    counts = summary(checks)
    return f"{title}: {counts['ok']} ok, {counts['warn']} warn, {counts['fail']} fail."


# -- webhook test ---------------------------------------------------------------------------------


def cmd_webhook_test(
    path: Path | None,
    env: str | None,
    variables: tuple[str, ...],
    agent: str | None,
    caller: str | None,
    called: str | None,
    timeout: float,
    fmt: str,
) -> None:
    from provisioner.checks import webhook
    from provisioner.checks.result import any_failed
    from provisioner.grammar import e164_problem, is_e164

    for flag, value in (("--caller", caller), ("--called", called)):
        if value is not None and not is_e164(value):
            raise click.BadParameter(e164_problem(value), param_hint=flag)
    manifest = _load(path, env, variables)
    report = _run(webhook.run(manifest, alias=agent, caller=caller, called=called, timeout=timeout, environ=os.environ))
    if fmt == "json":
        _echo_json(report.as_json())
    else:
        click.echo(f"POST {report.url} ({report.source} webhook)")
        click.echo("Sent headers:")
        for name, value in report.headers.items():
            click.echo(f"  {name}: {value}")
        for note in report.notes:
            click.echo(f"  Note: {note}")
        click.echo("Sent body:")
        click.echo("  " + json.dumps(report.body))
        if report.status is not None:
            click.echo(f"Answer: HTTP {report.status} in {report.elapsed:.2f}s")
            click.echo("  " + (report.response or "(empty body)").replace("\n", "\n  "))
        else:
            click.echo("Answer: none")
        click.echo("Checks:")
        for check in report.checks:
            click.echo("  " + check_line(check))
        click.echo(_summary_line("Webhook test", report.checks))
    if any_failed(report.checks):
        fail(ExitCode.ERROR, "")


# -- endpoints ------------------------------------------------------------------------------------


def cmd_endpoints(path: Path | None, env: str | None, variables: tuple[str, ...], fmt: str) -> None:
    from provisioner.checks.endpoints import endpoints
    from provisioner.checks.result import FORMAT_VERSION

    manifest = _load(path, env, variables)
    found = endpoints(manifest)
    if fmt == "json":
        _echo_json({"format_version": FORMAT_VERSION, "endpoints": [e.as_json() for e in found]})
        return
    if not found:
        click.echo("No SIP-trunk numbers in the manifest.")
        return
    for index, point in enumerate(found):
        if index:
            click.echo("")
        click.echo(f"{point.alias} {point.number} (trunk {point.trunk}, region {point.region}, {point.stack} stack)")
        click.echo(f"  ElevenLabs SIP host: {point.host or '(none listed in the references)'}")
        for port in point.ports:
            if port.available:
                click.echo(f"  {port.transport.upper()}: port {port.port}")
            else:
                click.echo(f"  {port.transport.upper()}: not available ({port.note})")
        uri = point.request_uri or f"sip:{point.request_uri_user}@<host>"
        click.echo(f"  Request-URI: {uri} (user part: {point.request_uri_user})")
        username = point.digest_username or "(none: no inbound credentials)"
        click.echo(f"  Digest username: {username}")
        for note in point.notes:
            click.echo(f"  Note: {note}")
        for warning in point.warnings:
            click.echo(f"  Warning: {warning}")


# -- doctor ---------------------------------------------------------------------------------------


def cmd_doctor(opts: Common, timeout: float, fmt: str) -> None:
    from provisioner.checks import doctor
    from provisioner.checks.result import FORMAT_VERSION, any_failed, summary
    from provisioner.commands.reconcile import start
    from provisioner.workspace import REGION_URLS, WorkspaceError, api_url

    key_problem: str | None = None
    try:
        ctx = start(opts, parse_vars(opts.variables))
        manifest, url = ctx.manifest, ("sandbox" if ctx.sandbox else ctx.target.api_url)
        client = ctx.client(opts.parallelism)
    except WorkspaceError as exc:
        # No usable key or URL: still run every check that needs neither.
        key_problem = str(exc)
        manifest = _load(opts.path, opts.env, opts.variables)
        try:
            url = api_url(opts.api_url, manifest.workspace.region)
        except WorkspaceError:
            url = opts.api_url or REGION_URLS["default"]
        client = None

    async def run() -> list[Check]:
        if client is None:
            return await doctor.run(
                manifest, client=None, api_url=url, key_problem=key_problem, environ=os.environ, timeout=timeout
            )
        async with client:
            return await doctor.run(
                manifest, client=client, api_url=url, environ=os.environ, timeout=timeout, sandbox=opts.sandbox
            )

    checks = _run(run())
    if fmt == "json":
        _echo_json(
            {"format_version": FORMAT_VERSION, "checks": [c.as_json() for c in checks], "summary": summary(checks)}
        )
    else:
        for check in checks:
            click.echo(check_line(check))
        click.echo(_summary_line("Doctor", checks))
    if any_failed(checks):
        fail(ExitCode.ERROR, "")


def register(group: click.Group) -> None:
    """Add `webhook test`, `endpoints` and `doctor` to the `telephony` group."""

    file_option, env_option, var_option = options.FILE, options.ENV, options.VAR

    @group.group("webhook", cls=usage.Group)
    def webhook() -> None:
        """Pre-call webhook tools."""

    @webhook.command("test", cls=usage.Command)
    @file_option
    @env_option
    @var_option
    @click.option(
        "--agent",
        default=None,
        metavar="ALIAS",
        help="The agent whose webhook to call (its own, else the workspace's).",
    )
    @click.option(
        "--caller", default=None, metavar="E164", help="caller_id to send (default a fictional +1 202 555 0123)."
    )
    @click.option("--called", default=None, metavar="E164", help="called_number (default the agent's first number).")
    @click.option("--timeout", type=TIMEOUT, default=5.0, show_default=True, help="Seconds to wait for the answer.")
    @click.option("--format", "fmt", type=FORMATS, default="text", show_default=True)
    @handled
    def webhook_test(**kwargs: Any) -> None:
        """Send the request ElevenLabs sends before a call and check the answer (exit 1 on a failed check)."""
        cmd_webhook_test(**kwargs)

    @group.command("endpoints", cls=usage.Command)
    @file_option
    @env_option
    @var_option
    @click.option("--format", "fmt", type=FORMATS, default="text", show_default=True)
    @handled
    def endpoints(**kwargs: Any) -> None:
        """What to configure on the PBX for each SIP-trunk number (offline)."""
        cmd_endpoints(**kwargs)

    @group.command("doctor", cls=usage.Command)
    @common
    @click.option("--timeout", type=TIMEOUT, default=5.0, show_default=True, help="Seconds per network probe.")
    @click.option("--format", "fmt", type=FORMATS, default="text", show_default=True)
    @handled
    def doctor(opts: Common, **kwargs: Any) -> None:
        """Check the key, variables, agents, SIP trunks and webhooks (exit 1 on any fail)."""
        cmd_doctor(opts, **kwargs)
