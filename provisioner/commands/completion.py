"""`telephony completion bash|zsh|fish`: print the shell completion script.

The script is click's own (it calls back into `telephony` with `_TELEPHONY_COMPLETE` set, which
`click` answers before any command runs), so completions always match the installed version.
Install lines: docs/install.md "Shell completion".
"""

from __future__ import annotations

import click

from provisioner.commands import usage

SHELLS = ("bash", "zsh", "fish")
PROG = "telephony"
COMPLETE_VAR = "_TELEPHONY_COMPLETE"  # what click derives from the program name


def register(group: click.Group) -> None:
    group.add_command(completion)


@click.command(cls=usage.Command, short_help="Print the shell completion script (bash, zsh or fish).")
@click.argument("shell", type=click.Choice(SHELLS))
@click.pass_context
def completion(ctx: click.Context, shell: str) -> None:
    """Print the completion script for SHELL (bash, zsh or fish).

    \b
    bash:  eval "$(telephony completion bash)"   (in ~/.bashrc; bash 4.4 or later)
    zsh:   eval "$(telephony completion zsh)"    (in ~/.zshrc, after compinit)
    fish:  telephony completion fish > ~/.config/fish/completions/telephony.fish
    """
    from click.shell_completion import get_completion_class

    completer = get_completion_class(shell)
    assert completer is not None  # click.Choice allows only the shells click ships
    root = ctx.find_root().command
    click.echo(completer(root, {}, PROG, COMPLETE_VAR).source())
