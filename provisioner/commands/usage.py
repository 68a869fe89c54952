"""Usage errors as one line and exit 1, for every command and the `telephony` group itself.

click exits 2 on a usage error, but 2 means "changes" to `plan --detailed-exitcode` and "drift" to
`drift`: a typo in a CI job must never read as either. So a usage error is an error like any other.
"""

from __future__ import annotations

from typing import Any

import click

from provisioner.exitcodes import ExitCode


class UsageFailure(click.ClickException):
    """A bad command line: one `Error:` line on stderr, exit 1."""

    exit_code = int(ExitCode.ERROR)


def _one_line(ctx: click.Context, exc: click.UsageError) -> UsageFailure:
    return UsageFailure(f"{exc.format_message()} (see `{ctx.command_path} --help`)")


class Command(click.Command):
    """Usage errors at parsing, or raised by the command as `BadParameter`, exit 1."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        try:
            return super().parse_args(ctx, args)
        except click.exceptions.NoArgsIsHelpError:
            # `telephony` alone asks for help rather than making a mistake.
            click.echo(ctx.get_help())
            ctx.exit(int(ExitCode.OK))
        except click.UsageError as exc:
            raise _one_line(ctx, exc) from exc

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except click.UsageError as exc:
            raise _one_line(ctx, exc) from exc

    def get_short_help_str(self, limit: int = 45) -> str:
        # click cuts the summary in a group's command list at 45 characters ("...");
        # the whole first sentence is shown instead, wrapped by the help formatter.
        return super().get_short_help_str(limit=1000)


class Group(Command, click.Group):
    """The same for a group (an unknown command name), and its commands by default."""

    command_class = Command
    group_class = type
