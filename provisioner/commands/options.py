"""The options several commands share, defined once so their names and help never drift apart."""

from __future__ import annotations

from pathlib import Path

import click

FILE = click.option(
    "-f",
    "--file",
    "path",
    type=click.Path(path_type=Path),
    default=None,
    help="The manifest (default telephony.yaml).",
)
ENV = click.option("--env", "env", default=None, help="Environment from the manifest's environments: block.")
VAR = click.option("--var", "variables", multiple=True, metavar="K=V", help="Set a template variable.")
SANDBOX = click.option("--sandbox", is_flag=True, help="Run against the local emulator (.telephony/sandbox.json).")
API_URL = click.option("--api-url", default=None, help="API base URL (else ELEVENLABS_BASE_URL, else the region).")
