"""`telephony validate` and `telephony schema`.

validate needs no secrets and no network, so it can run on every pull request. Exit codes:
0 valid (warnings allowed), 1 invalid; `--strict` counts warnings as errors. Bad options exit 1
too (not click's 2): every failure of validate means "do not merge this", one code for CI.
"""

from __future__ import annotations

import json
import sys

import click

from provisioner.commands import options, usage
from provisioner.diagnostic_codes import UNSET_VARIABLE
from provisioner.diagnostics import Diagnostic, has_errors, render_github, render_json, summary
from provisioner.exitcodes import ExitCode

DEFAULT = "telephony.yaml"


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
@click.argument("files", nargs=-1, type=str, metavar="[FILES]...")
@options.file_option(
    type=str,  # a name that cannot be read is a located `file` diagnostic, not a usage error
    help="The manifest to check (one; several go as arguments). Default telephony.yaml.",
    hint=" (several files go as arguments: telephony validate A.yaml B.yaml)",
)
@click.option("--env", "env", metavar="NAME", help="Environment whose vars render the file (default: each one).")
@click.option("--var", "var", multiple=True, metavar="K=V", help="Template variable vars.K (repeatable).")
@click.option("--strict", is_flag=True, help="Treat warnings as errors.")
@click.option(
    "--ignore-unset",
    is_flag=True,
    help="Do not report unset ${VAR}s (a CI job that by design holds no secrets; the plan lists those it needs).",
)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["text", "json", "github"]),
    default="text",
    show_default=True,
    help="github: GitHub Actions annotations (::error file=...::message) for the pull request's diff.",
)
def validate(
    files: tuple[str, ...],
    path: str | None,
    env: str | None,
    var: tuple[str, ...],
    strict: bool,
    ignore_unset: bool,
    fmt: str,
) -> None:
    """Check manifests offline: schema, references, formats and risky settings.

    FILES default to telephony.yaml (-f FILE names one too; pre-commit passes several). Prints
    every problem as FILE:LINE:COL: severity: message. Exit 0 when every file is valid (warnings
    allowed), 1 when any is not. Without --env, a manifest with environments is checked in each.
    """
    from provisioner.library import validate as validate_manifest

    names = _names(path, files)
    variables = parse_vars(var)
    # Every file is checked and reported, even after an invalid one: one run shows every problem.
    results = [(name, validate_manifest(name, env=env, variables=variables, strict=strict)) for name in names]
    if ignore_unset:
        # A pull-request job gets no secrets, so under --strict every ${VAR} would fail it; which
        # secrets exist is checked by name against the CI's secrets instead (examples/ci).
        results = [(name, [d for d in found if d.code != UNSET_VARIABLE]) for name, found in results]
    if fmt == "json":
        click.echo(_json(results), nl=False)
    elif fmt == "github":
        for name, diagnostics in results:
            # Annotations for the diff view; the summary lines stay plain log text.
            click.echo(render_github(diagnostics), nl=False)
            click.echo(f"{name}: {summary(diagnostics)}")
    else:
        _print_text(results)
    invalid = any(has_errors(diagnostics) for _, diagnostics in results)
    sys.exit(int(ExitCode.ERROR if invalid else ExitCode.OK))


def _names(path: str | None, files: tuple[str, ...]) -> list[str]:
    """`-f FILE` and FILES together, each once, in the order given; none: telephony.yaml."""
    given = ([path] if path is not None else []) + list(files)
    return list(dict.fromkeys(given)) or [DEFAULT]


def _json(results: list[tuple[str, list[Diagnostic]]]) -> str:
    """One file: its document (as before several files were accepted). Several: `{valid, files: [...]}`."""
    if len(results) == 1:
        name, diagnostics = results[0]
        return render_json(diagnostics, file=name)
    documents = [json.loads(render_json(diagnostics, file=name)) for name, diagnostics in results]
    document = {"valid": all(d["valid"] for d in documents), "files": documents}
    return json.dumps(document, indent=2) + "\n"


@click.command(cls=usage.Command)
@click.option(
    "--kind",
    type=click.Choice(["manifest", "plan-output", "plan-file", "apply-output"]),
    default="manifest",
    show_default=True,
    help="Which schema: the manifest, `plan --format json` output, a plan file, or `apply --format json` output.",
)
def schema(kind: str) -> None:
    """Print a JSON Schema (as in schemas/: telephony, plan-output, plan-file, apply-output)."""
    if kind == "manifest":
        from provisioner.manifest_schema import schema_text  # builds the manifest models: only here

        click.echo(schema_text(), nl=False)
        return
    from provisioner.output_schemas import schema_text as output_schema_text

    click.echo(output_schema_text(kind), nl=False)


def _print_text(results: list[tuple[str, list[Diagnostic]]]) -> None:
    for name, diagnostics in results:
        for diagnostic in diagnostics:
            colour = "red" if diagnostic.severity == "error" else "yellow"
            click.secho(str(diagnostic), fg=colour)
        # One file keeps the bare summary line; several name the file each summary is about.
        click.echo(summary(diagnostics) if len(results) == 1 else f"{name}: {summary(diagnostics)}")
