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
        (["--format", "xml"], "Error: Invalid value for '--format': 'xml' is not one of 'text', 'json'."),
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


@pytest.mark.parametrize(
    ("name", "command"),
    [
        ("plan-on-pr.yml", "telephony plan --format markdown"),
        ("apply-on-merge.yml", "telephony apply --auto-approve"),
        ("drift-nightly.yml", "telephony drift"),
    ],
)
def test_ci_examples_run_the_documented_commands(name: str, command: str) -> None:
    import yaml

    workflow = yaml.safe_load((ROOT / "examples" / "ci" / name).read_text())
    runs = [step.get("run", "") for job in workflow["jobs"].values() for step in job["steps"]]
    assert any(command in run for run in runs)
    assert any(run.startswith("telephony validate") for run in runs) or name == "drift-nightly.yml"
    for variable in ("TWILIO_ACCOUNT_SID", "PBX_SIP_PASSWORD", "CRM_WEBHOOK_TOKEN"):  # the root manifest's ${VAR}s
        assert all(variable in job["env"] for job in workflow["jobs"].values())


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
