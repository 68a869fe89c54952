"""Bad input to plan, apply and drift: one clear line on stderr, exit 1, never a traceback."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from provisioner.planfile import PLAN_FILE_VERSION
from tests.helpers import cli_command, cli_env, run_cli

pytestmark = pytest.mark.e2e
ROOT = Path(__file__).resolve().parents[2]


def env(**extra: str) -> dict[str, str]:
    return cli_env(**{"TELEPHONY_RETRY_ATTEMPTS": "1", **extra})


def run(cwd: Path, *args: str, **extra: str) -> subprocess.CompletedProcess[str]:
    return run_cli(*args, cwd=cwd, env=env(**extra))


def one_line_error(result: subprocess.CompletedProcess[str], *needles: str) -> None:
    assert result.returncode == 1, result.stdout + result.stderr
    lines = [line for line in result.stderr.splitlines() if "warning:" not in line]
    assert len(lines) == 1 and lines[0].startswith("Error: "), result.stderr
    assert "Traceback" not in result.stderr
    for needle in needles:
        assert needle in lines[0], lines[0]


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    shutil.copy(ROOT / "telephony.yaml", tmp_path / "telephony.yaml")
    return tmp_path


def test_unknown_target_names_the_known_addresses(workdir: Path) -> None:
    result = run(workdir, "plan", "--sandbox", "--target", "agent.suport")
    one_line_error(result, "'agent.suport'", "did you mean 'agent.support'", "phone_number.support-line")
    assert run(workdir, "plan", "--sandbox", "--target", "agent").returncode == 0


def test_unwritable_out_fails_before_planning_and_leaves_no_file(workdir: Path) -> None:
    result = run(workdir, "plan", "--sandbox", "--out", str(workdir / "missing" / "x.plan"))
    one_line_error(result, "cannot write plan file", "does not exist")
    assert result.stdout == ""
    one_line_error(run(workdir, "plan", "--sandbox", "--out", str(workdir)), "is a directory")
    assert sorted(p.name for p in workdir.iterdir()) == ["telephony.yaml"]


def test_a_file_that_is_not_a_plan_is_named_as_such(workdir: Path) -> None:
    (workdir / "garbage.plan").write_text("garbage\n")
    one_line_error(run(workdir, "apply", "--sandbox", "garbage.plan"), "garbage.plan is not a telephony plan file")
    one_line_error(run(workdir, "apply", "--sandbox", "telephony.yaml"), "apply -f FILE")
    one_line_error(run(workdir, "apply", "--sandbox", "nope.plan"), "cannot read plan file nope.plan")


@pytest.mark.parametrize(("version", "word"), [("99.0", "a newer"), ("0.1", "an older")])
def test_a_plan_file_of_another_format_version(workdir: Path, version: str, word: str) -> None:
    out = workdir / "x.plan"
    assert run(workdir, "plan", "--sandbox", "--out", str(out)).returncode == 0
    data = json.loads(out.read_text())
    assert data["plan_file_version"] == PLAN_FILE_VERSION
    data["plan_file_version"] = version
    out.write_text(json.dumps(data))
    one_line_error(run(workdir, "apply", "--sandbox", "x.plan"), f"made by {word} version", "make a new plan")


def test_a_closed_pipe_ends_quietly(workdir: Path) -> None:
    proc = subprocess.Popen(
        cli_command("drift", "--sandbox", "--format", "json"),
        cwd=workdir,
        env=env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert proc.stdout is not None and proc.stderr is not None
    proc.stdout.close()  # the reader goes away (`| head -1` after its line) before the output is written
    stderr = proc.stderr.read().decode()
    assert proc.wait(timeout=120) == 141, stderr
    assert stderr == ""


@pytest.mark.parametrize(
    ("args", "extra", "needles"),
    [
        (["--api-url", "localhost:8765"], {"ELEVENLABS_API_KEY": "k"}, ["not an http(s) URL"]),
        (["--api-url", "http://127.0.0.1:1"], {"ELEVENLABS_API_KEY": "k"}, ["cannot connect to http://127.0.0.1:1"]),
        ([], {"ELEVENLABS_API_KEY": ""}, ["ELEVENLABS_API_KEY is not set or empty"]),
        (["--sandbox", "--var", "novalue"], {}, ["--var", "expected NAME=VALUE"]),
        (["--sandbox", "--parallelism", "0"], {}, ["'--parallelism'", "telephony drift --help"]),
        (["--sandbox", "--format", "xml"], {}, ["'--format'"]),
        (["--sandbox", "--no-such-flag"], {}, ["--no-such-flag"]),
    ],
)
def test_bad_flags_and_environment_are_one_line_and_exit_1(
    workdir: Path, args: list[str], extra: dict[str, str], needles: list[str]
) -> None:
    one_line_error(run(workdir, "drift", *args, **extra), *needles)


def test_a_corrupt_sandbox_state_says_how_to_start_over(workdir: Path) -> None:
    (workdir / ".telephony").mkdir()
    (workdir / ".telephony" / "sandbox-telephony.json").write_text("{not json")
    one_line_error(run(workdir, "plan", "--sandbox"), "sandbox-telephony.json", "delete it")
