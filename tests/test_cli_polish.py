"""The CLI's manners: colour switches, log levels and JSON log lines, shell completion, --help."""

from __future__ import annotations

import io
import json
import re
import sys
from datetime import datetime
from pathlib import Path

import pytest

from provisioner import colour, logsetup
from provisioner.exitcodes import ExitCode

ANSI = re.compile(r"\x1b\[[0-9;]*m")
INVALID = 'version: 1\nrequires: "bogus"\n'
ONE_NUMBER = (
    "version: 1\n"
    "phone_numbers:\n"
    "  main:\n"
    '    number: "+14155550100"\n'
    "    provider: twilio\n"
    "    label: Main\n"
    '    twilio: {account_sid: "${TWILIO_ACCOUNT_SID}", auth_token: "${TWILIO_AUTH_TOKEN}"}\n'
)


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    for name in ("NO_COLOR", "FORCE_COLOR", logsetup.ENV, logsetup.FORMAT_ENV):
        monkeypatch.delenv(name, raising=False)
    return tmp_path


def run(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    """`telephony ARGS` in this process (stdout and stderr are pipes, never a terminal)."""
    from provisioner import cli

    monkeypatch.setattr(sys, "argv", ["telephony", *args])
    with pytest.raises(SystemExit) as exited:
        cli.main()
    out = capsys.readouterr()
    code = exited.value.code
    return (code if isinstance(code, int) else 0 if code is None else 1), out.out, out.err


# -- colour -----------------------------------------------------------------------------------


@pytest.mark.parametrize("command", [["validate"], ["plan", "--sandbox"]])
@pytest.mark.parametrize(
    ("env", "flag", "coloured"),
    [
        ({}, False, False),  # not a terminal
        ({"FORCE_COLOR": "1"}, False, True),
        ({"FORCE_COLOR": "1"}, True, False),  # --no-color wins
        ({"FORCE_COLOR": "1", "NO_COLOR": "1"}, False, False),  # NO_COLOR wins
        ({"FORCE_COLOR": "0"}, False, False),
    ],
)
def test_colour_follows_no_color_force_color_and_the_flag(
    project: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    command: list[str],
    env: dict[str, str],
    flag: bool,
    coloured: bool,
) -> None:
    (project / "telephony.yaml").write_text(INVALID if command == ["validate"] else ONE_NUMBER)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    _, out, _ = run(monkeypatch, capsys, *(["--no-color"] if flag else []), *command)
    assert "error" in out if command == ["validate"] else "phone_number" in out
    assert bool(ANSI.search(out)) is coloured


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_a_terminal_gets_colour_unless_told_otherwise() -> None:
    assert colour.enabled(Terminal(), environ={}) is True
    assert colour.enabled(Terminal(), environ={"NO_COLOR": "1"}) is False
    assert colour.enabled(Terminal(), environ={"NO_COLOR": ""}) is True  # empty counts as unset
    assert colour.enabled(io.StringIO(), environ={}) is False
    colour.disable()
    assert colour.enabled(Terminal(), environ={"FORCE_COLOR": "1"}) is False


# -- logging ----------------------------------------------------------------------------------


def test_json_log_lines_parse_with_timestamp_level_logger_and_message(
    project: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    (project / "telephony.yaml").write_text(ONE_NUMBER)
    monkeypatch.setenv(logsetup.ENV, "debug")
    code, out, err = run(monkeypatch, capsys, "--log-format", "json", "plan", "--sandbox")
    assert code == 0, err
    entries = [json.loads(line) for line in err.splitlines() if line.startswith("{")]
    assert entries, err
    for entry in entries:
        assert set(entry) >= {"timestamp", "level", "logger", "message"}
        assert datetime.fromisoformat(entry["timestamp"]).utcoffset() is not None
    assert {e["level"] for e in entries} >= {"debug"}
    # Only telephony's loggers below warning: httpx logs every request at info, unasked here.
    assert all(e["logger"].startswith("provisioner") or e["level"] in ("warning", "error") for e in entries)
    assert "phone_number" in out  # the plan itself is unchanged


def test_a_third_party_logger_speaks_only_when_named(
    project: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    (project / "telephony.yaml").write_text(ONE_NUMBER)
    monkeypatch.setenv(logsetup.ENV, "debug,httpx")
    code, _, err = run(monkeypatch, capsys, "--log-format", "json", "plan", "--sandbox")
    assert code == 0, err
    loggers = {json.loads(line)["logger"] for line in err.splitlines() if line.startswith("{")}
    assert "httpx" in loggers
    assert "httpcore.connection" not in loggers and "httpcore.http11" not in loggers

    # The next run in the same process, without naming httpx, hears nothing from it again.
    monkeypatch.setenv(logsetup.ENV, "debug")
    code, _, err = run(monkeypatch, capsys, "--log-format", "json", "plan", "--sandbox")
    assert code == 0, err
    assert "httpx" not in {json.loads(line)["logger"] for line in err.splitlines() if line.startswith("{")}


def test_text_logs_and_the_default_level(
    project: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    (project / "telephony.yaml").write_text(ONE_NUMBER)
    _, _, quiet = run(monkeypatch, capsys, "plan", "--sandbox")
    assert "DEBUG" not in quiet
    monkeypatch.setenv(logsetup.ENV, "DEBUG")
    _, _, err = run(monkeypatch, capsys, "plan", "--sandbox")
    assert re.search(r"^DEBUG provisioner\.[a-z_.]+: ", err, re.MULTILINE), err
    monkeypatch.setenv(logsetup.ENV, "")
    _, _, err = run(monkeypatch, capsys, "plan", "--sandbox", "-v")
    assert re.search(r"^DEBUG provisioner\.", err, re.MULTILINE), err


def test_a_bad_log_setting_is_one_error_line(
    project: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    (project / "telephony.yaml").write_text(ONE_NUMBER)
    monkeypatch.setenv(logsetup.ENV, "loud")
    code, _, err = run(monkeypatch, capsys, "validate")
    assert code == 1
    assert err.splitlines() == [
        "Error: TELEPHONY_LOG=loud: the level must be one of debug|info|warning|error, optionally ',LOGGER' names "
        "after it"
    ]


def test_log_lines_never_show_a_remembered_secret(capsys: pytest.CaptureFixture[str]) -> None:
    import logging

    from provisioner import redact

    logsetup.configure("json", environ={logsetup.ENV: "info"})
    redact.remember("s3cr3t-value-123")
    try:
        logging.getLogger("provisioner.test").info("sending %s", "s3cr3t-value-123")
    finally:
        redact.forget_all()
    err = capsys.readouterr().err
    assert "s3cr3t-value-123" not in err
    assert json.loads(err.splitlines()[-1])["logger"] == "provisioner.test"


# -- completion -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("shell", "installs"),
    [
        ("bash", "complete -o nosort -F _telephony_completion telephony"),
        ("zsh", "compdef _telephony_completion telephony"),
        ("fish", "complete --no-files --command telephony"),
    ],
)
def test_completion_prints_the_script_for_each_shell(
    project: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], shell: str, installs: str
) -> None:
    code, out, _ = run(monkeypatch, capsys, "completion", shell)
    assert code == 0
    assert installs in out
    assert f"_TELEPHONY_COMPLETE={shell}_complete" in out


def test_the_script_calls_back_into_telephony_which_completes(
    project: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # What the bash script runs on <TAB> after `telephony pl` and `telephony plan --det`.
    monkeypatch.setenv("_TELEPHONY_COMPLETE", "bash_complete")
    monkeypatch.setenv("COMP_WORDS", "telephony pl")
    monkeypatch.setenv("COMP_CWORD", "1")
    assert run(monkeypatch, capsys, "pl")[1].split() == ["plain,plan"]
    monkeypatch.setenv("COMP_WORDS", "telephony plan --det")
    monkeypatch.setenv("COMP_CWORD", "2")
    assert run(monkeypatch, capsys, "plan", "--det")[1].split() == ["plain,--detailed-exitcode"]


def test_an_unknown_shell_is_a_usage_error(
    project: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = run(monkeypatch, capsys, "completion", "tcsh")
    assert code == 1
    assert len(err.splitlines()) == 1 and "'tcsh' is not one of" in err


# -- --help -----------------------------------------------------------------------------------


def help_text(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> str:
    code, out, _ = run(monkeypatch, capsys, "--help")
    assert code == 0
    return out


def test_help_names_the_api_key_and_every_exit_code(
    project: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    out = help_text(monkeypatch, capsys)
    assert "ELEVENLABS_API_KEY" in out
    table = out[out.index("Exit codes:") :]
    listed = [int(m) for m in re.findall(r"^\s+(\d)  \S", table, re.MULTILINE)]
    assert listed == [int(code) for code in ExitCode]


def test_help_shows_every_command_summary_whole(
    project: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from provisioner.cli import cli

    out = help_text(monkeypatch, capsys)
    commands = out[out.index("Commands:") : out.index("Environment:")]
    flat = " ".join(commands.split())
    assert "..." not in flat
    for name, command in cli.commands.items():
        summary = command.short_help or (command.help or "").split("\n\n")[0].split(". ")[0]
        summary = " ".join(summary.split()).rstrip(".")
        assert f"{name} {summary}" in flat, name
