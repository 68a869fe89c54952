"""The sandbox's state file: locked per run, written linearly, never holding a real secret, and a
damaged one is one line."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from click.testing import CliRunner

from provisioner.cli import cli
from provisioner.emulator import persistence
from provisioner.emulator.secrets_hygiene import fingerprint
from provisioner.sandbox import lock_state, state_path
from provisioner.workspace import WorkspaceError

ROOT = Path(__file__).resolve().parent.parent
STATE_FILE = Path(".telephony/sandbox-telephony.json")  # the documented place for ./telephony.yaml


def numbers_manifest(count: int) -> str:
    lines = [
        "version: 1",
        "agents: {a: {id: agent_1}}",
        "sip_trunks: {t: {outbound: {address: pbx.example.com, credentials: {username: u, password: '${PBX_PW}'}}}}",
        "phone_numbers:",
    ]
    lines += [
        f'  n{i}: {{number: "+1415555{i:04d}", label: L{i}, provider: sip_trunk, sip_trunk: t, agent: a}}'
        for i in range(count)
    ]
    return "\n".join(lines) + "\n"


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    for name in [n for n in os.environ if n.startswith(("ELEVENLABS", "TELEPHONY"))]:
        monkeypatch.delenv(name)
    return tmp_path


def invoke(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, list(args))
    return result.exit_code, result.stdout, result.stderr


@pytest.mark.slow  # a CLI process or a 150-number apply
def test_a_sandbox_apply_writes_the_state_a_bounded_number_of_times(
    workdir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    writes: list[int] = []
    real = persistence.atomic_write
    monkeypatch.setattr(persistence, "atomic_write", lambda path, data: (writes.append(1), real(path, data)))
    (workdir / "telephony.yaml").write_text(numbers_manifest(150))
    code, out, err = invoke("apply", "--sandbox", "--auto-approve")
    assert code == 0, out + err
    # 150 imports and 150 stack PATCHes: one write per change would be 300+ rewrites of a growing file.
    assert len(writes) < 30, len(writes)
    code, out, _ = invoke("plan", "--sandbox", "--detailed-exitcode")
    assert code == 0, out  # every write reached the file


def test_a_real_secret_never_reaches_the_sandbox_state(workdir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    real = "real-pbx-password-Zq81"
    monkeypatch.setenv("PBX_PW", real)
    (workdir / "telephony.yaml").write_text(numbers_manifest(2))
    code, out, err = invoke("apply", "--sandbox", "--auto-approve")
    assert code == 0, out + err
    assert "PBX_PW sent as dummy values" in err
    state = (workdir / STATE_FILE).read_text()
    key = persistence.key_file(workdir / STATE_FILE).read_text().strip()
    assert real not in state and "salt" not in json.loads(state)
    assert fingerprint(key, real) not in state  # not even a fingerprint of it
    assert oct((persistence.key_file(workdir / STATE_FILE)).stat().st_mode & 0o777) == "0o600"


def test_two_runs_in_one_directory_do_not_share_the_state(workdir: Path) -> None:
    state = workdir / STATE_FILE
    state.parent.mkdir(parents=True)
    lock_state(state)
    other = os.open(state.with_name(state.name + ".lock"), os.O_RDWR)
    try:
        import fcntl

        with pytest.raises(BlockingIOError):
            fcntl.flock(other, fcntl.LOCK_EX | fcntl.LOCK_NB)
    finally:
        os.close(other)


def test_a_lock_held_elsewhere_is_one_clear_error(workdir: Path) -> None:
    import fcntl

    state = workdir / STATE_FILE
    state.parent.mkdir(parents=True)
    holder = os.open(state.with_name(state.name + ".lock"), os.O_RDWR | os.O_CREAT)
    fcntl.flock(holder, fcntl.LOCK_EX)
    try:
        with pytest.raises(WorkspaceError, match="another telephony run is using the sandbox"):
            lock_state(state, wait=0.2)
    finally:
        os.close(holder)


@pytest.mark.parametrize(
    ("content", "needle"),
    [
        ("[]", "not an object"),
        ('{"version": 999}', "another version of the emulator"),
        ('{"version": 1, "phone_numbers": {"a": 1}}', "phone_numbers is not a list of objects"),
        ('{"version": 1, "phone_numbers": [{"label": "x"}]}', "damaged state file"),
        ("{not json", "not JSON"),
    ],
)
def test_a_damaged_sandbox_state_is_one_line(workdir: Path, content: str, needle: str) -> None:
    (workdir / "telephony.yaml").write_text(numbers_manifest(1))
    (workdir / STATE_FILE).parent.mkdir(parents=True)
    (workdir / STATE_FILE).write_text(content)
    code, out, err = invoke("plan", "--sandbox")
    assert code == 1 and out == ""
    assert len(err.splitlines()) == 1 and needle in err and "delete it to start the sandbox over" in err, err


def test_each_manifest_has_its_own_sandbox_beside_it(workdir: Path) -> None:
    (workdir / "telephony.yaml").write_text(numbers_manifest(1))
    (workdir / "sub").mkdir()
    (workdir / "sub" / "other.yaml").write_text(numbers_manifest(2))
    assert invoke("apply", "--sandbox", "--auto-approve")[0] == 0
    # Another manifest (named from elsewhere) starts from an empty sandbox of its own, beside it.
    code, out, err = invoke("plan", "--sandbox", "-f", "sub/other.yaml", "--format", "json")
    assert code == 0, err
    plan = json.loads(out)
    assert (
        plan["summary"]["create"] == 2 and plan["workspace"]["api_url"] == "sandbox://sub/.telephony/sandbox-other.json"
    )
    assert (workdir / STATE_FILE).is_file() and not (workdir / "sub" / STATE_FILE).exists()
    assert state_path(Path("sub/other.yaml")) == Path("sub/.telephony/sandbox-other.json")
    # A manifest not written yet (`init -f sub/new.yaml --import --sandbox`) reads the sandbox it will have.
    assert state_path(Path("sub/new.yaml")) == Path("sub/.telephony/sandbox-new.json")
    # The first manifest's sandbox kept its number: nothing to do there.
    assert invoke("plan", "--sandbox", "--detailed-exitcode")[0] == 0
    # The state does not depend on the directory the command runs from.
    os.chdir(workdir / "sub")
    assert invoke("plan", "--sandbox", "-f", "../telephony.yaml", "--detailed-exitcode")[0] == 0
    assert not (workdir / "sub" / ".telephony" / "sandbox-telephony.json").exists()


def test_init_names_the_sandbox_state(workdir: Path) -> None:
    code, _, err = invoke("init", "-f", "voice.yaml")
    assert code == 0, err
    assert "Sandbox state (--sandbox) for voice.yaml: .telephony/sandbox-voice.json" in err


def test_the_state_of_earlier_versions_is_named_once_and_left_alone(
    workdir: Path, caplog: pytest.LogCaptureFixture
) -> None:
    (workdir / "telephony.yaml").write_text(numbers_manifest(1))
    (workdir / ".telephony").mkdir()
    (workdir / ".telephony" / "sandbox.json").write_text("{}")
    assert invoke("plan", "--sandbox")[0] == 0
    # A warning (the CLI logs warnings to stderr; here pytest captures the log).
    assert "the sandbox state is now .telephony/sandbox-telephony.json (one per manifest)" in caplog.text
    assert (workdir / ".telephony" / "sandbox.json").read_text() == "{}"
    caplog.clear()
    assert invoke("plan", "--sandbox")[0] == 0
    assert "sandbox.json" not in caplog.text  # once: the new state exists now
