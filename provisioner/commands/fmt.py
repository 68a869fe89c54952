"""`telephony fmt [--check] [FILES]`: rewrite manifests in their canonical form (`provisioner.fmt`).

Exit codes: 0 every file is (now) formatted; 1 `--check` found files to reformat, or a file
could not be read or parsed. Files with `{% %}` blocks are templates, not YAML: they are left
alone with a note on stderr and never fail `--check`.
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

import click

from provisioner.commands import usage
from provisioner.exitcodes import ExitCode


def register(group: click.Group) -> None:
    """Add fmt to the `telephony` group."""
    group.add_command(fmt)


@click.command(cls=usage.Command)
@click.option("--check", is_flag=True, help="Change nothing; exit 1 and list the files that would change.")
@click.argument("files", nargs=-1, type=click.Path(path_type=Path, dir_okay=False))
def fmt(check: bool, files: tuple[Path, ...]) -> None:
    """Format manifests canonically, comments kept (default file: telephony.yaml).

    Keys in schema order, E.164 numbers quoted, 2-space indentation, one final newline. Files
    are rewritten in place (atomically) and listed; with --check nothing is written.
    """
    from provisioner.fmt import FormatError, format_text, has_jinja_blocks  # ruamel.yaml: only here

    failed = False
    for path in files or (Path("telephony.yaml"),):
        try:
            text = path.read_bytes().decode("utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
            click.echo(f"{path}:1:1: error: cannot read the file: {reason}", err=True)
            failed = True
            continue
        if has_jinja_blocks(text):
            click.echo(
                f"{path}: left unchanged: {{% %}} blocks make it a template, not YAML (see docs/editors.md)", err=True
            )
            continue
        try:
            formatted = format_text(text)
        except FormatError as exc:
            click.echo(f"{path}:{exc.line}:{exc.column}: error: {exc.message}", err=True)
            failed = True
            continue
        if formatted == text:
            continue
        if check:
            click.echo(f"would reformat {path}")
            failed = True
            continue
        try:
            replace_atomically(path, formatted)
        except OSError as exc:
            click.echo(f"{path}:1:1: error: cannot write the file: {exc.strerror or exc}", err=True)
            failed = True
            continue
        click.echo(f"formatted {path}")
    sys.exit(int(ExitCode.ERROR if failed else ExitCode.OK))


def replace_atomically(path: Path, text: str) -> None:
    """Replace the file `path` (through a symlink) with `text`: a temporary file in the same
    directory, with the original's permissions, renamed over it, so a reader or a crash sees the
    old file or the new one, never half of one."""
    target = path.resolve()
    mode = target.stat().st_mode & 0o7777
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, mode)
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
