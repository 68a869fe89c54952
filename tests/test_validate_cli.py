"""`telephony validate` and `telephony schema` as a user runs them."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from provisioner.manifest_schema import schema_text
from tests.helpers import cli_command, cli_env, run_cli

ROOT = Path(__file__).parent.parent
MANIFESTS = [ROOT / "telephony.yaml", *sorted((ROOT / "examples").glob("*.yaml"))]


def telephony(*args: str, cwd: Path = ROOT, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    # Only PATH and HOME from this shell: no ${VAR} a developer happens to have set.
    return run_cli(*args, cwd=cwd, env=cli_env(minimal=True, **(env or {})), timeout=60)


@pytest.mark.slow
@pytest.mark.parametrize("path", MANIFESTS, ids=lambda p: p.name)
def test_every_example_validates_without_secrets(path: Path) -> None:
    result = telephony("validate", "-f", str(path.relative_to(ROOT)))
    assert result.returncode == 0, result.stdout + result.stderr
    lines = result.stdout.splitlines()
    assert lines[-1].startswith("valid: 0 errors")
    assert all("is not set; validate does not need it" in line for line in lines[:-1])


@pytest.mark.slow
def test_default_file_is_telephony_yaml() -> None:
    assert telephony("validate").stdout.splitlines()[-1].startswith("valid: 0 errors, 5 warnings")


@pytest.mark.slow
def test_strict_turns_warnings_into_errors() -> None:
    result = telephony("validate", "--strict")
    assert result.returncode == 1
    assert result.stdout.splitlines()[0] == (
        "telephony.yaml:18:20: error: ${CRM_WEBHOOK_TOKEN} is not set; "
        "validate does not need it, but plan and apply will"
    )


@pytest.mark.slow
def test_json_format() -> None:
    result = telephony("validate", "--format", "json", "-f", "examples/twilio-minimal.yaml")
    document = json.loads(result.stdout)
    assert result.returncode == 0
    assert document == {
        "file": "examples/twilio-minimal.yaml",
        "valid": True,
        "errors": 0,
        "warnings": 2,
        "diagnostics": [
            {
                "severity": "warning",
                "message": "${TWILIO_ACCOUNT_SID} is not set; validate does not need it, but plan and apply will",
                "file": "examples/twilio-minimal.yaml",
                "line": 18,
                "column": 20,
                "code": "unset-variable",
            },
            {
                "severity": "warning",
                "message": "${TWILIO_AUTH_TOKEN} is not set; validate does not need it, but plan and apply will",
                "file": "examples/twilio-minimal.yaml",
                "line": 19,
                "column": 19,
                "code": "unset-variable",
            },
        ],
    }


@pytest.mark.slow
def test_json_format_on_an_invalid_file(tmp_path: Path) -> None:
    (tmp_path / "bad.yaml").write_text("version: 1\nworkspace: {region: mars}\n")
    result = telephony("validate", "-f", "bad.yaml", "--format", "json", cwd=tmp_path)
    assert result.returncode == 1
    document = json.loads(result.stdout)
    assert (document["valid"], document["errors"]) == (False, 1)
    assert document["diagnostics"][0]["code"] == "enum"
    assert (document["diagnostics"][0]["line"], document["diagnostics"][0]["column"]) == (2, 21)


@pytest.mark.slow
def test_without_env_every_environment_is_checked(tmp_path: Path) -> None:
    (tmp_path / "telephony.yaml").write_text(
        "version: 1\n"
        "workspace:\n"
        "  region: ${{ vars.region }}\n"
        "environments:\n"
        "  staging: {vars: {region: eu}}\n"
        "  production: {vars: {region: europe}}\n"
    )
    everything = telephony("validate", cwd=tmp_path)
    assert everything.returncode == 1
    assert everything.stdout.splitlines()[0] == (
        "telephony.yaml:3:11: error: region: 'europe' is not 'default', 'us', 'eu', 'in' or 'sg' "
        "(environment production)"
    )
    assert telephony("validate", "--env", "staging", cwd=tmp_path).returncode == 0
    assert telephony("validate", "--env", "staging", "--var", "region=mars", cwd=tmp_path).returncode == 1


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--var", "novalue"], "Error: Invalid value for --var: expected NAME=VALUE, got 'novalue'"),
        (["--var", "=eu"], "Error: Invalid value for --var: expected NAME=VALUE, got '=eu'"),
        (["--format", "xml"], "Error: Invalid value for '--format': 'xml' is not one of 'text', 'json', 'github'."),
        (["--bogus"], "Error: No such option '--bogus'."),
    ],
)
@pytest.mark.slow
def test_bad_options_are_one_line_and_exit_1(args: list[str], message: str) -> None:
    # Exit 1 like an invalid file: CI treats every validate failure the same way.
    result = telephony("validate", *args)
    assert result.returncode == 1
    assert result.stderr == f"{message} (see `telephony validate --help`)\n"
    assert result.stdout == ""


@pytest.mark.slow
def test_a_directory_is_a_located_error(tmp_path: Path) -> None:
    result = telephony("validate", "-f", str(tmp_path))
    assert result.returncode == 1
    assert result.stdout.splitlines()[0] == f"{tmp_path}:1:1: error: is a directory, not a manifest file"


@pytest.mark.slow
def test_env_on_a_file_without_environments(tmp_path: Path) -> None:
    (tmp_path / "telephony.yaml").write_text("version: 1\n")
    result = telephony("validate", "--env", "production", cwd=tmp_path)
    assert result.returncode == 1
    assert result.stdout.splitlines()[0] == (
        "telephony.yaml:1:1: error: --env production: this file declares no environments; "
        "add an environments: block or leave out --env"
    )


@pytest.mark.slow
def test_a_manifest_on_stdin_is_read_once(tmp_path: Path) -> None:
    # validate reads the file for its environments and then to load it: a pipe has one read.
    text = "version: 1\nenvironments: {a: {vars: {}}, b: {vars: {}}}\nagents: {s: {id: agent_1}}\n"
    result = run_cli("validate", "-f", "/dev/stdin", input=text, env=cli_env(minimal=True), timeout=60)
    assert (result.returncode, result.stdout) == (0, "valid: 0 errors, 0 warnings\n")


@pytest.mark.slow
def test_a_fifo_is_read_once(tmp_path: Path) -> None:
    fifo = tmp_path / "manifest.fifo"
    os.mkfifo(fifo)
    command = cli_command("validate", "-f", str(fifo))
    with subprocess.Popen(command, env=cli_env(minimal=True), stdout=subprocess.PIPE, text=True) as process:
        fifo.write_text("version: 1\n")  # blocks until validate opens the FIFO
        output, _ = process.communicate(timeout=60)  # a second open would wait for a writer forever
    assert (process.returncode, output) == (0, "valid: 0 errors, 0 warnings\n")


@pytest.mark.slow
def test_missing_file(tmp_path: Path) -> None:
    result = telephony("validate", cwd=tmp_path)
    assert result.returncode == 1
    assert result.stdout.splitlines()[0] == "telephony.yaml:1:1: error: file not found"


@pytest.mark.slow
def test_schema_command_prints_the_schema() -> None:
    result = telephony("schema")
    assert result.returncode == 0
    assert result.stdout == schema_text()
    assert json.loads(result.stdout)["title"] == "telephony.yaml (manifest version 1)"


@pytest.mark.slow
def test_a_symlink_loop_is_a_located_error(tmp_path: Path) -> None:
    (tmp_path / "a.yaml").symlink_to(tmp_path / "b.yaml")
    (tmp_path / "b.yaml").symlink_to(tmp_path / "a.yaml")
    result = telephony("validate", "-f", "a.yaml", cwd=tmp_path)
    assert result.returncode == 1
    assert result.stdout.splitlines()[0] == "a.yaml:1:1: error: cannot read the file: Too many levels of symbolic links"
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize("fmt", ["text", "json"])
def test_an_empty_file_name_is_a_located_file_diagnostic(fmt: str) -> None:
    from click.testing import CliRunner

    from provisioner.cli import cli

    result = CliRunner().invoke(cli, ["validate", "-f", "", "--format", fmt])
    assert result.exit_code == 1
    if fmt == "json":
        report = json.loads(result.output)
        assert report["valid"] is False
        assert [(d["code"], d["line"], d["column"]) for d in report["diagnostics"]] == [("file", 1, 1)]
    else:
        assert result.output.splitlines() == [
            ":1:1: error: -f names no file (the name is empty)",
            "invalid: 1 error, 0 warnings",
        ]


def test_an_unreadable_file_is_a_located_file_diagnostic(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from click.testing import CliRunner

    from provisioner.cli import cli

    path = tmp_path / "telephony.yaml"
    path.write_text("version: 1\n")

    def refuse(self: Path, *args: object, **kwargs: object) -> None:
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(Path, "open", refuse)
    result = CliRunner().invoke(cli, ["validate", "-f", str(path), "--format", "json"])
    assert result.exit_code == 1
    report = json.loads(result.output)
    assert [(d["code"], d["message"]) for d in report["diagnostics"]] == [
        ("file", "cannot read the file: Permission denied")
    ]


# -- several files, --format github, one -f ------------------------------------------------------

VALID = "version: 1\nagents: {s: {id: agent_1}}\n"
INVALID = "version: 1\nagents: {s: {id: 3}}\n"


def _invoke(*args: str, cwd: Path) -> tuple[int, str]:
    from click.testing import CliRunner

    from provisioner.cli import cli

    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(cwd)
        result = CliRunner().invoke(cli, list(args))
    return result.exit_code, result.output


def test_several_files_are_each_checked_and_reported(tmp_path: Path) -> None:
    (tmp_path / "a.yaml").write_text(INVALID)
    (tmp_path / "b.yaml").write_text(VALID)
    code, output = _invoke("validate", "a.yaml", "b.yaml", "c.yaml", cwd=tmp_path)
    assert code == 1
    assert output.splitlines() == [
        "a.yaml:2:18: error: id: expected a string, got a number: "
        'YAML reads 3 unquoted as a number; write it in quotes: "3"',
        "a.yaml: invalid: 1 error, 0 warnings",
        "b.yaml: valid: 0 errors, 0 warnings",  # checked although a.yaml before it was invalid
        "c.yaml:1:1: error: file not found",
        "c.yaml: invalid: 1 error, 0 warnings",
    ]


def test_several_valid_files_pass_and_f_joins_the_arguments(tmp_path: Path) -> None:
    (tmp_path / "a.yaml").write_text(VALID)
    (tmp_path / "b.yaml").write_text(VALID)
    code, output = _invoke("validate", "-f", "a.yaml", "b.yaml", "a.yaml", cwd=tmp_path)
    assert (code, output) == (0, "a.yaml: valid: 0 errors, 0 warnings\nb.yaml: valid: 0 errors, 0 warnings\n")


def test_one_invalid_file_among_several_fails_whichever_its_place(tmp_path: Path) -> None:
    (tmp_path / "a.yaml").write_text(VALID)
    (tmp_path / "b.yaml").write_text(INVALID)
    assert _invoke("validate", "a.yaml", "b.yaml", cwd=tmp_path)[0] == 1
    assert _invoke("validate", "b.yaml", "a.yaml", cwd=tmp_path)[0] == 1


def test_json_with_several_files_lists_each_document(tmp_path: Path) -> None:
    (tmp_path / "a.yaml").write_text(VALID)
    (tmp_path / "b.yaml").write_text(INVALID)
    code, output = _invoke("validate", "--format", "json", "a.yaml", "b.yaml", cwd=tmp_path)
    document = json.loads(output)
    assert code == 1
    assert document["valid"] is False
    summary = [(f["file"], f["valid"], f["errors"]) for f in document["files"]]
    assert summary == [("a.yaml", True, 0), ("b.yaml", False, 1)]


def test_github_format_prints_annotations(tmp_path: Path) -> None:
    (tmp_path / "telephony.yaml").write_text("version: 1\npre_call_webhook: {url: 'https://x.test', headers: {}}\n")
    (tmp_path / "bad.yaml").write_text(INVALID)
    code, output = _invoke("validate", "--format", "github", "telephony.yaml", "bad.yaml", "--strict", cwd=tmp_path)
    assert code == 1
    lines = output.splitlines()
    assert lines[-2:] == [
        "::error file=bad.yaml,line=2,col=18::id: expected a string, got a number: YAML reads 3 unquoted as a number; "
        'write it in quotes: "3"',
        "bad.yaml: invalid: 1 error, 0 warnings",
    ]


def test_github_format_warnings_are_warning_annotations(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TWILIO_ACCOUNT_SID", raising=False)
    monkeypatch.delenv("TWILIO_AUTH_TOKEN", raising=False)
    text = (ROOT / "examples" / "twilio-minimal.yaml").read_text()
    (tmp_path / "telephony.yaml").write_text(text)

    def where(reference: str) -> str:
        # line and column (1-based) where the scalar holding `reference` starts, read off the example
        rows = [(n, row) for n, row in enumerate(text.splitlines(), 1) if reference in row and ": " in row]
        [(line, col)] = [(n, row.index(": ") + 3) for n, row in rows]
        return f"line={line},col={col}"

    code, output = _invoke("validate", "--format", "github", cwd=tmp_path)
    assert code == 0, output
    assert output.splitlines() == [
        f"::warning file=telephony.yaml,{where('${TWILIO_ACCOUNT_SID}')}::${{TWILIO_ACCOUNT_SID}} is not set; "
        "validate does not need it, but plan and apply will",
        f"::warning file=telephony.yaml,{where('${TWILIO_AUTH_TOKEN}')}::${{TWILIO_AUTH_TOKEN}} is not set; "
        "validate does not need it, but plan and apply will",
        "telephony.yaml: valid: 0 errors, 2 warnings",
    ]


def test_github_annotations_escape_per_the_runner_rules() -> None:
    from provisioner.diagnostics import Diagnostic, render_github

    hostile = Diagnostic("error", "100% bad\r\nnext: a, b", "dir,x/a:b%.yaml", 3, 7, "x")
    assert render_github([hostile]) == "::error file=dir%2Cx/a%3Ab%25.yaml,line=3,col=7::100%25 bad%0D%0Anext: a, b\n"


def _commands_with_file_option() -> list[str]:
    from provisioner.cli import cli

    found: list[str] = []

    def walk(command: object, path: list[str]) -> None:
        import click

        if isinstance(command, click.Group):
            for name, sub in command.commands.items():
                walk(sub, [*path, name])
        elif isinstance(command, click.Command) and any("-f" in p.opts for p in command.params):
            found.append(" ".join(path))

    walk(cli, [])
    return sorted(found)


def test_every_command_with_a_file_option_is_covered() -> None:
    # A new command with -f joins the parametrized check below by itself; this pins that the walk finds them.
    assert {"validate", "plan", "apply", "drift", "init", "doctor", "endpoints"} <= set(_commands_with_file_option())


@pytest.mark.parametrize("command", _commands_with_file_option())
def test_a_repeated_f_is_an_error_not_an_override(command: str, tmp_path: Path) -> None:
    from click.testing import CliRunner

    from provisioner.cli import cli

    (tmp_path / "b.yaml").write_text(VALID)
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(tmp_path)
        alone = CliRunner().invoke(cli, [*command.split(), "-f", "a.yaml", "--file", "b.yaml"])
    assert alone.exit_code == 1
    assert "'-f' / '--file': given 2 times (a.yaml, b.yaml); name one manifest" in alone.output
    assert alone.output.count("\n") == 1
    assert not (tmp_path / "a.yaml").exists()  # init wrote nothing


def test_ignore_unset_lets_a_job_without_secrets_run_strict(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("TWILIO_ACCOUNT_SID", "TWILIO_AUTH_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    (tmp_path / "telephony.yaml").write_text((ROOT / "examples" / "twilio-minimal.yaml").read_text())
    (tmp_path / "bad.yaml").write_text(INVALID)
    assert _invoke("validate", "--strict", cwd=tmp_path)[0] == 1
    assert _invoke("validate", "--strict", "--ignore-unset", cwd=tmp_path) == (0, "valid: 0 errors, 0 warnings\n")
    # Only the unset-variable warnings go: every other problem still fails the job.
    assert _invoke("validate", "--strict", "--ignore-unset", "bad.yaml", cwd=tmp_path)[0] == 1


@pytest.mark.slow
@pytest.mark.parametrize("args", [["-f", "telephony.yaml"], ["telephony.yaml"], []], ids=["-f", "argument", "default"])
def test_the_root_manifest_validates_as_the_readme_shows(args: list[str]) -> None:
    # The quick start's manifest, from the repository root, with no secret set (a new user's shell).
    result = run_cli("validate", *args, cwd=ROOT, env=cli_env(minimal=True))
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.splitlines()[-1].startswith("valid: 0 errors"), result.stdout
    assert "Traceback" not in result.stderr
