"""The `telephony` command line: the only module family that prints.

Each command lives in `provisioner/commands/<name>.py` and is registered here.
"""

from __future__ import annotations

import logging
import sys
import traceback

import click

from provisioner import __version__
from provisioner.commands import calls as calls_cmd
from provisioner.commands import checks as checks_cmd
from provisioner.commands import emulator as emulator_cmd
from provisioner.commands import fmt as fmt_cmd
from provisioner.commands import importing as importing_cmd
from provisioner.commands import reconcile as reconcile_cmd
from provisioner.commands import signals, usage
from provisioner.commands import validate as validate_cmd


@click.group(cls=usage.Group, context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(__version__, prog_name="telephony")
def cli() -> None:
    """Infrastructure as code for ElevenLabs voice agents on phone systems.

    Validate telephony.yaml, plan the changes against the live workspace, apply them, and
    detect drift. Add --sandbox to any command to run it against the built-in emulator.
    """


validate_cmd.register(cli)
reconcile_cmd.register(cli)
emulator_cmd.register(cli)
checks_cmd.register(cli)
importing_cmd.register(cli)
calls_cmd.register(cli)
fmt_cmd.register(cli)


def main() -> None:
    signals.install()
    try:
        cli(prog_name="telephony")
    except signals.Interrupted as stop:
        click.echo(f"Interrupted ({stop.name}); nothing was changed.", err=True)
        sys.exit(stop.exit_code)
    except Exception as exc:
        # Reconciler commands map TelephonyError to exit codes themselves (commands.reconcile.handled);
        # anything that still escapes is a bug: one line, the traceback only with -v.
        logging.getLogger(__name__).debug("internal error", exc_info=True)
        if "-v" in sys.argv or "--verbose" in sys.argv:
            traceback.print_exc()
        from provisioner.redact import scrub

        message = f"Error: internal error ({type(exc).__name__}): {exc} (run with -v for the traceback)"
        click.echo(scrub(message), err=True)
        sys.exit(1)
