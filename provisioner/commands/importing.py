"""`telephony import` and `telephony init`: write a manifest from the live workspace, or scaffold a repo.

Exit codes: 0 written; 1 error (the output file exists without --force, an API error, a bad option).
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path
from typing import Any

import click

from provisioner.commands import usage
from provisioner.commands.options import file_option
from provisioner.commands.reconcile import _run, err, fail, handled
from provisioner.exitcodes import ExitCode
from provisioner.schema_url import MODELINE

STDOUT = Path("-")
GITIGNORE_ENTRIES = (".telephony/", "*.tfplan", "*.plan")
# The modeline names the published schema of this version (docs/editors.md): it works in any repo.
EXAMPLE = (
    MODELINE
    + """
#
# The telephony of one ElevenLabs workspace, as code. `telephony validate` checks this file
# offline; `telephony plan` shows what `telephony apply` would change. Set the ${VAR}s (here
# TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN) where plan and apply run, never in this file.
version: 1

# Agents are authored elsewhere; only their telephony settings are managed here.
agents:
  support:
    id: agent_3701k3ttaq12ewp8b7qv5rfyszkz  # your agent's id
    transfers:
      - to: "+14155550199"
        condition: The caller asks for a human

# Phone numbers, by alias: the E.164 number is each one's identity.
phone_numbers:
  support-line:
    number: "+14155550100"
    label: Customer Support Line
    agent: support
    provider: twilio
    twilio:
      account_sid: "${TWILIO_ACCOUNT_SID}"
      auth_token: "${TWILIO_AUTH_TOKEN}"
"""
)


def write_atomically(path: Path, text: str) -> None:
    """Write `text` to `path` through a temporary file in the same directory (never half a file)."""
    directory = path.parent if str(path.parent) else Path(".")
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=directory)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def refuse_overwrite(path: Path, force: bool) -> None:
    if path != STDOUT and path.exists() and not force:
        fail(ExitCode.ERROR, f"Error: {path} exists; use --force to overwrite it.")


def import_text(
    sandbox: bool, api_url: str | None, parallelism: int, agents: str, manifest: Path = Path("telephony.yaml")
) -> Any:
    from provisioner import importer
    from provisioner.api.live import snapshot
    from provisioner.session import workspace_client

    async def run() -> importer.Imported:
        async with workspace_client(
            sandbox=sandbox, api_url=api_url, parallelism=parallelism, manifest_path=manifest
        ) as client:
            return importer.build(await snapshot(client, all_agents=agents == "all"))

    return _run(run())


def report(imported: Any, where: str) -> None:
    counts = imported.counts
    err(
        f"Imported {counts['numbers']} phone numbers, {counts['sip_trunks']} SIP trunks and "
        f"{counts['agents']} agents into {where}."
    )
    if imported.variables:
        err("Set these variables where plan and apply run (the API never returns their values):")
        for name, purpose in imported.variables:
            err(f"  {name}: {purpose}")
    if imported.left_out:
        err("Left out (the manifest cannot express it):")
        for item in imported.left_out:
            err(f"  {item}")


def cmd_import(out: Path, force: bool, agents: str, sandbox: bool, api_url: str | None, parallelism: int) -> None:
    refuse_overwrite(out, force)
    imported = import_text(sandbox, api_url, parallelism, agents)
    if out == STDOUT:
        sys.stdout.write(imported.text)
        report(imported, "stdout")
        return
    write_atomically(out, imported.text)
    report(imported, str(out))


def add_gitignore(path: Path) -> list[str]:
    """Append the entries `.gitignore` lacks; the ones added."""
    lines = path.read_text(encoding="utf-8").splitlines() if path.exists() else []
    missing = [e for e in GITIGNORE_ENTRIES if e not in {line.strip() for line in lines}]
    if missing:
        text = path.read_text(encoding="utf-8") if path.exists() else ""
        if text and not text.endswith("\n"):
            text += "\n"
        text += "# telephony: sandbox state and saved plans\n" + "".join(f"{e}\n" for e in missing)
        write_atomically(path, text)
    return missing


def cmd_init(
    path: Path, from_workspace: bool, force: bool, agents: str, sandbox: bool, api_url: str | None, parallelism: int
) -> None:
    refuse_overwrite(path, force)
    if from_workspace:
        imported = import_text(sandbox, api_url, parallelism, agents, path)
        write_atomically(path, imported.text)
        report(imported, str(path))
    else:
        write_atomically(path, EXAMPLE)
        err(f"Wrote an example manifest to {path}: put your agent's id and your numbers in it.")
    added = add_gitignore(path.parent / ".gitignore")
    if added:
        err(f"Added {', '.join(added)} to {path.parent / '.gitignore'}.")
    from provisioner.sandbox import state_path  # light: the emulator itself loads only when used

    err(f"Sandbox state (--sandbox) for {path}: {state_path(path)} (delete it to start the sandbox over).")
    err(f"Next: telephony validate -f {path}, then telephony plan -f {path}.")


def connection(func: Any) -> Any:
    options = [
        click.option(
            "--agents",
            type=click.Choice(["assigned", "all"]),
            default="assigned",
            show_default=True,
            help="Import the agents assigned to a number, or all agents.",
        ),
        click.option(
            "--sandbox",
            is_flag=True,
            help="Read the local emulator (the sandbox of telephony.yaml, or of init's -f).",
        ),
        click.option("--api-url", default=None, help="API base URL (else ELEVENLABS_BASE_URL, else the default)."),
        click.option(
            "--parallelism", type=click.IntRange(1, 64), default=8, show_default=True, help="Concurrent API requests."
        ),
    ]
    for option in reversed(options):
        func = option(func)
    return func


def register(group: click.Group) -> None:
    """Add import and init to the `telephony` group."""

    @group.command("import", cls=usage.Command)
    @click.option(
        "--out",
        type=click.Path(path_type=Path, allow_dash=True),
        default=STDOUT,
        show_default=True,
        help="Write the manifest here (`-`: stdout).",
    )
    @click.option("--force", is_flag=True, help="Overwrite --out when it exists.")
    @connection
    @handled
    def import_(**kwargs: Any) -> None:
        """Write a manifest from the live workspace (read-only)."""
        cmd_import(**kwargs)

    @group.command("init", cls=usage.Command)
    @file_option(default=Path("telephony.yaml"), help="The manifest to write.")
    @click.option("--import", "from_workspace", is_flag=True, help="Fill it from the live workspace.")
    @click.option("--force", is_flag=True, help="Overwrite the manifest when it exists.")
    @connection
    @handled
    def init(**kwargs: Any) -> None:
        """Scaffold a repo: telephony.yaml and .gitignore entries."""
        cmd_init(**kwargs)
