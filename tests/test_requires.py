"""`requires:` pins the tool's version: another version refuses the file in one located line."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from packaging.version import Version

from provisioner import __version__
from provisioner.diagnostics import Diagnostic
from provisioner.library import validate
from provisioner.manifest_schema import schema

RUNNING = Version(__version__)
NEXT_MINOR = f"{RUNNING.major}.{RUNNING.minor + 1}"


def errors(path: Path, env: str | None = None) -> list[Diagnostic]:
    return [d for d in validate(path, env=env) if d.severity == "error"]


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "telephony.yaml"
    path.write_text(text)
    return path


@pytest.mark.parametrize(
    "requirement",
    [f"=={__version__}", f">={RUNNING.major}.{RUNNING.minor},<{NEXT_MINOR}", f"~={__version__}", f">={__version__}"],
)
def test_a_matching_requirement_is_accepted(tmp_path: Path, requirement: str) -> None:
    assert errors(write(tmp_path, f'version: 1\nrequires: "{requirement}"\n')) == []


@pytest.mark.parametrize("requirement", [f"!={__version__}", f">={NEXT_MINOR}", f"<{__version__}"])
def test_another_version_refuses_the_file_naming_both_versions_and_the_fix(tmp_path: Path, requirement: str) -> None:
    path = write(tmp_path, f"# pinned\nversion: 1\nrequires:   '{requirement}'\n")
    [problem] = errors(path)
    assert (problem.file, problem.line, problem.column, problem.code) == (str(path), 3, 13, "requires")
    assert f"requires telephony {requirement} but this is telephony {__version__}" in problem.message
    assert f"pipx install --force 'telephony[sandbox]{requirement}'" in problem.message


def test_the_pin_is_read_before_anything_this_version_may_not_understand(tmp_path: Path) -> None:
    # A file for a later version: template syntax, keys and environments this version may not know.
    text = (
        "version: 1\n"
        f'requires: ">={NEXT_MINOR}"\n'
        "future_block: {a: 1}\n"
        "agents: ${{ vars.agents }}\n"
        "environments:\n"
        "  prod: {vars: {}, new_setting: true}\n"
    )
    path = write(tmp_path, text)
    for env in (None, "prod", "staging"):
        assert [d.code for d in errors(path, env)] == ["requires"]


@pytest.mark.parametrize(
    ("requirement", "says"),
    [("bogus", "'bogus' is not a PEP 440 version specifier set"), ("", "the version range is empty"), ("0.2", "")],
)
def test_an_invalid_specifier_is_a_located_schema_error(tmp_path: Path, requirement: str, says: str) -> None:
    path = write(tmp_path, f'version: 1\nrequires: "{requirement}"\n')
    [problem] = errors(path)
    assert (problem.line, problem.column, problem.code) == (2, 11, "schema")
    assert problem.message.startswith("requires: ")
    assert says in problem.message


def test_requires_must_be_a_string(tmp_path: Path) -> None:
    [problem] = errors(write(tmp_path, "version: 1\nrequires: 0.2\n"))
    assert (problem.line, problem.code) == (2, "type")


def test_the_schema_describes_requires() -> None:
    field = schema()["properties"]["requires"]
    assert "PEP 440" in field["description"]


@pytest.mark.parametrize(
    "command",
    [["validate"], ["plan", "--sandbox"], ["drift", "--sandbox"], ["apply", "--sandbox", "--auto-approve"]],
)
def test_every_command_that_loads_the_manifest_refuses_in_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], command: list[str]
) -> None:
    from provisioner import cli

    write(tmp_path, f'version: 1\nrequires: ">={NEXT_MINOR}"\n')
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sys, "argv", ["telephony", *command])
    with pytest.raises(SystemExit) as exited:
        cli.main()
    out = capsys.readouterr()
    assert exited.value.code == 1
    lines = [line for line in (out.out + out.err).splitlines() if not line.startswith("invalid: ")]
    assert lines == [
        f"telephony.yaml:2:11: error: this manifest requires telephony >={NEXT_MINOR} but this is telephony "
        f"{__version__}; install a matching version: pipx install --force 'telephony[sandbox]>={NEXT_MINOR}'"
    ]
    assert not (tmp_path / ".telephony").exists()  # refused before the sandbox was touched
