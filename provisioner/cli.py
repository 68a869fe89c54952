"""The `telephony` command line: the only module family that prints.

Each command lives in `provisioner/commands/<name>.py` and is registered here.
"""

from __future__ import annotations

import logging
import sys
import traceback

import click

from provisioner import __version__, gcpause
from provisioner.commands import calls as calls_cmd
from provisioner.commands import checks as checks_cmd
from provisioner.commands import completion as completion_cmd
from provisioner.commands import emulator as emulator_cmd
from provisioner.commands import fmt as fmt_cmd
from provisioner.commands import importing as importing_cmd
from provisioner.commands import reconcile as reconcile_cmd
from provisioner.commands import signals, usage
from provisioner.commands import validate as validate_cmd
from provisioner.exitcodes import MEANING

# Shown under `telephony --help`; `\b` keeps click from re-flowing the tables.
EXIT_CODES = "\n".join(f"  {code:d}  {meaning}" for code, meaning in MEANING.items())
EPILOG = f"""\b
Environment:
  ELEVENLABS_API_KEY   the workspace's API key (never a flag; not needed with --sandbox)
  ELEVENLABS_BASE_URL  the API base URL (else the manifest's workspace.region)
  TELEPHONY_LOG        log level debug|info|warning|error[,LOGGER...] (default warning)
  NO_COLOR=1           no colour (as --no-color); FORCE_COLOR=1 colours even without a terminal

\b
Exit codes:
{EXIT_CODES}
"""


@click.group(
    cls=usage.Group,
    epilog=EPILOG,
    context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100},
)
@click.version_option(__version__, prog_name="telephony")
@click.option("--no-color", is_flag=True, help="No colour in the output (as NO_COLOR=1).")
@click.option(
    "--log-format",
    type=click.Choice(["text", "json"]),
    default=None,
    help="Log lines on stderr as text, or as one JSON object per line (else TELEPHONY_LOG_FORMAT).",
)
@click.pass_context
def cli(ctx: click.Context, no_color: bool, log_format: str | None) -> None:
    """Infrastructure as code for ElevenLabs voice agents on phone systems.

    Validate telephony.yaml, plan the changes against the live workspace, apply them, and
    detect drift. Add --sandbox to any command to run it against the built-in emulator.
    """
    # Imported here, not at the top: --version exits before this runs and must stay fast.
    from provisioner import colour, logsetup

    colour.disable(no_color)
    ctx.color = colour.forced()  # click's secho in every subcommand; render.make_console asks colour itself
    try:
        logsetup.configure(logsetup.log_format(log_format))
    except logsetup.InvalidSetting as exc:
        raise usage.UsageFailure(str(exc)) from None


validate_cmd.register(cli)
reconcile_cmd.register(cli)
emulator_cmd.register(cli)
checks_cmd.register(cli)
importing_cmd.register(cli)
calls_cmd.register(cli)
completion_cmd.register(cli)
fmt_cmd.register(cli)


def main() -> None:
    signals.install()
    gcpause.freeze_kept()  # a command's process ends soon: what it loads may leave the collector's reach
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
