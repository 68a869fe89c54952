"""SIGINT and SIGTERM: one line and 130/143 when read-only; during apply, stop starting steps,
finish what is in flight, print the report, and exit 4 when something was applied."""

from __future__ import annotations

import signal
import subprocess
import time
from pathlib import Path

import pytest

from tests.e2e.conftest import API_KEY, UNMANAGED, start_seeded
from tests.e2e.manifests import numbers_manifest
from tests.helpers import cli_command, cli_env

pytestmark = pytest.mark.e2e
KEY = API_KEY


def popen(args: list[str], cwd: Path, url: str, **kwargs: object) -> subprocess.Popen[str]:
    env = cli_env(ELEVENLABS_API_KEY=KEY, ELEVENLABS_BASE_URL=url, TWILIO_ACCOUNT_SID="AC" + "1" * 32)
    return subprocess.Popen(
        cli_command(*args),
        cwd=cwd,
        env={**env, "TW_TOKEN": "tok"},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        **kwargs,  # type: ignore[arg-type]
    )


@pytest.mark.parametrize(("signum", "code"), [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_a_signal_during_a_read_only_command_says_nothing_changed(
    tmp_path: Path, signum: signal.Signals, code: int
) -> None:
    (tmp_path / "telephony.yaml").write_text(numbers_manifest(3))
    with start_seeded(tmp_path, None, "--latency-ms", "3000") as server:
        proc = popen(["plan"], tmp_path, server.url)
        time.sleep(1.5)  # observing: the list request is in flight
        proc.send_signal(signum)
        out, err = proc.communicate(timeout=30)
    assert proc.returncode == code, out + err
    assert err.strip().splitlines()[-1] == f"Interrupted ({signum.name}); nothing was changed."
    assert "may have been applied" not in err and "Traceback" not in err


def test_sigint_during_validate_is_130(tmp_path: Path) -> None:
    # validate reading a manifest from a pipe that never ends: it waits, then is interrupted.
    proc = popen(["validate", "-f", "/dev/stdin"], tmp_path, "http://127.0.0.1:9", stdin=subprocess.PIPE)
    time.sleep(1.5)
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=30)
    assert proc.returncode == 130, out + err
    assert err.strip() == "Interrupted (SIGINT); nothing was changed."


def test_sigterm_during_apply_finishes_in_flight_steps_and_reports(tmp_path: Path) -> None:
    (tmp_path / "telephony.yaml").write_text(numbers_manifest(12))
    with start_seeded(tmp_path, None, "--latency-ms", "400") as server:
        proc = popen(["apply", "--auto-approve", "--parallelism", "2"], tmp_path, server.url)
        assert proc.stderr is not None
        seen = ""
        while "applied" not in seen:  # the first step landed: writes are under way
            line = proc.stderr.readline()
            assert line, "apply ended before any step"
            seen += line
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=60)
        assert proc.returncode == 4, out + err
        assert "SIGTERM: starting no more steps" in err
        assert "Stopped by SIGTERM" in out and "not started: interrupted" in out
        assert "Apply report: " in out
        with server.client() as api:
            imported = [n for n in api.get("/v1/convai/phone-numbers").json() if n["phone_number"] != UNMANAGED]
        assert 0 < len(imported) < 12
        again = subprocess.run(
            cli_command("apply", "--auto-approve"),
            cwd=tmp_path,
            env=cli_env(ELEVENLABS_API_KEY=KEY, ELEVENLABS_BASE_URL=server.url, TWILIO_ACCOUNT_SID="AC" + "1" * 32),
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert again.returncode == 0, again.stdout + again.stderr
        with server.client() as api:
            assert len(api.get("/v1/convai/phone-numbers").json()) == 12 + 1  # and the unmanaged one
