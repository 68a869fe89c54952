"""`telephony validate` and `telephony schema`.

validate needs no secrets and no network, so it can run on every pull request. Exit codes:
0 valid (warnings allowed), 1 invalid; `--strict` counts warnings as errors. Bad options exit 1
too (not click's 2): every failure of validate means "do not merge this", one code for CI.
"""

from __future__ import annotations

import sys

import click

from provisioner.commands import usage
from provisioner.diagnostics import Diagnostic, has_errors, render_json, summary
from provisioner.exitcodes import ExitCode


def register(group: click.Group) -> None:
    """Add this module's commands to the `telephony` group."""
    group.add_command(validate)
    group.add_command(schema)


def parse_vars(values: tuple[str, ...]) -> dict[str, str]:
    """`--var K=V` options as a mapping (shared with the reconciler's commands)."""
    result: dict[str, str] = {}
    for item in values:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise click.BadParameter(f"expected NAME=VALUE, got '{item}'", param_hint="--var")
        result[key.strip()] = value
    return result


@click.command(cls=usage.Command)
@click.option(
    "-f",
    "--file",
    "file",
    default="telephony.yaml",
    show_default=True,
    type=str,  # a name that cannot be read is a located `file` diagnostic, not a usage error
    help="The manifest to check.",
)
@click.option("--env", "env", metavar="NAME", help="Environment whose vars render the file (default: each one).")
@click.option("--var", "var", multiple=True, metavar="K=V", help="Template variable vars.K (repeatable).")
@click.option("--strict", is_flag=True, help="Treat warnings as errors.")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
def validate(file: str, env: str | None, var: tuple[str, ...], strict: bool, fmt: str) -> None:
    """Check a manifest offline: schema, references, formats and risky settings.

    Prints every problem as FILE:LINE:COL: severity: message. Exit 0 when valid (warnings
    allowed), 1 when not. Without --env, a manifest with environments is checked in each.
    """
    from provisioner.library import validate as validate_manifest

    diagnostics = validate_manifest(file, env=env, variables=parse_vars(var), strict=strict)
    if fmt == "json":
        click.echo(render_json(diagnostics, file=file), nl=False)
    else:
        _print_text(diagnostics)
    sys.exit(int(ExitCode.ERROR if has_errors(diagnostics) else ExitCode.OK))


@click.command(cls=usage.Command)
@click.option(
    "--kind",
    type=click.Choice(["manifest", "plan-output", "plan-file"]),
    default="manifest",
    show_default=True,
    help="Which schema: the manifest, `plan --format json` output, or a plan file.",
)
def schema(kind: str) -> None:
    """Print a JSON Schema (as in schemas/: telephony, plan-output, plan-file)."""
    if kind == "manifest":
        from provisioner.manifest_schema import schema_text  # builds the manifest models: only here

        click.echo(schema_text(), nl=False)
        return
    from provisioner.output_schemas import schema_text as output_schema_text

    click.echo(output_schema_text(kind), nl=False)


def _print_text(diagnostics: list[Diagnostic]) -> None:
    for diagnostic in diagnostics:
        colour = "red" if diagnostic.severity == "error" else "yellow"
        click.secho(str(diagnostic), fg=colour)
    click.echo(summary(diagnostics))
