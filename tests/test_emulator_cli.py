"""`telephony emulator serve`: URL line, loopback-only binding, clean shutdown, seeding, help."""

from __future__ import annotations

import signal
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from click.testing import CliRunner

from provisioner.cli import cli
from tests.helpers import run_cli

if TYPE_CHECKING:
    from provisioner.emulator.testing import EmulatorServer

SEED = """
agents:
  - agent_id: agent_0000seededagent000000000000
    name: Seeded Support
    conversation_config:
      agent:
        first_message: Hello from the seed
phone_numbers:
  - phone_number_id: phnum_0000seedednumber00000000000
    provider: twilio
    phone_number: "+15550001111"
    label: seeded
    sid: AC123
    token: seed-token-value
    agent_id: agent_0000seededagent000000000000
  - provider: sip_trunk
    phone_number: "+15550002222"
    label: pbx
    outbound_trunk_config: {address: sip.example.test}
    livekit_stack: static
settings:
  rag_retention_period_days: 20
secrets:
  - name: hook
    value: seed-secret-value
"""


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_clean_shutdown_exits_zero(start_emulator: Callable[..., EmulatorServer], sig: int) -> None:
    server = start_emulator()
    assert server.url.startswith("http://127.0.0.1:") and not server.url.endswith(":0")
    assert server.stop(sig) == 0


@pytest.mark.slow
def test_refuses_non_loopback_without_allow_remote() -> None:
    result = run_cli("emulator", "serve", "--host", "0.0.0.0", "--port", "0", timeout=30)
    assert result.returncode == 1
    assert "--allow-remote" in result.stderr


def test_seed_file(start_emulator: Callable[..., EmulatorServer], tmp_path: Path) -> None:
    seed = tmp_path / "seed.yaml"
    seed.write_text(SEED)
    server = start_emulator("--seed", str(seed))
    with server.client() as c:
        number = c.get("/v1/convai/phone-numbers/phnum_0000seedednumber00000000000").json()
        assert number["assigned_agent"]["agent_name"] == "Seeded Support"
        agent = c.get("/v1/convai/agents/agent_0000seededagent000000000000").json()
        assert agent["conversation_config"]["agent"]["first_message"] == "Hello from the seed"
        assert agent["conversation_config"]["agent"]["language"] == "en"  # defaults filled in
        listed = c.get("/v1/convai/phone-numbers").json()
        assert [n.get("livekit_stack") for n in listed] == [None, "static"]
        assert c.get("/v1/convai/settings").json()["rag_retention_period_days"] == 20
        assert [s["name"] for s in c.get("/v1/convai/secrets").json()["secrets"]] == ["hook"]
        c.delete("/v1/convai/phone-numbers/phnum_0000seedednumber00000000000")
    server.reset()  # back to the seed
    with server.client() as c:
        assert len(c.get("/v1/convai/phone-numbers").json()) == 2
    assert "seed-token-value" not in str(server.state())


def test_bad_fault_spec_is_an_error() -> None:
    result = CliRunner().invoke(cli, ["emulator", "serve", "--port", "0", "--faults", "kinds=teapot"])
    assert result.exit_code == 1
    assert "unknown fault kind" in result.output


def test_help_documents_the_fault_spec() -> None:
    result = CliRunner().invoke(cli, ["emulator", "serve", "--help"])
    assert result.exit_code == 0
    for word in ("--faults", "drop_after", "retry_after", "--allow-remote", "--state", "--seed", "--latency-ms"):
        assert word in result.output


@pytest.mark.parametrize(
    ("seed", "message"),
    [
        (
            "phone_numbers: [{provider: twilio, phone_number: '+1', label: x, sid: AC1, token: tok-SECRET,"
            " agent_id: nope}]",
            "seed phone_numbers[0]: Document with id nope not found.",
        ),
        ("phone_numbers: [{provider: twilio, phone_number: '+1', token: tok-SECRET}]", "seed phone_numbers[0]:"),
        ("secrets: [{name: n, value: tok-SECRET", "not valid YAML (line"),
    ],
)
def test_bad_seed_is_an_error_without_secrets(tmp_path: Path, seed: str, message: str) -> None:
    path = tmp_path / "seed.yaml"
    path.write_text(seed)
    result = CliRunner().invoke(cli, ["emulator", "serve", "--port", "0", "--seed", str(path)])
    assert result.exit_code == 1
    assert message in result.output and "tok-SECRET" not in result.output


@pytest.mark.slow
def test_serve_errors_are_one_line(tmp_path: Path) -> None:
    import socket

    from tests.helpers import run_cli

    taken = socket.socket()
    taken.bind(("127.0.0.1", 0))
    taken.listen()
    port = taken.getsockname()[1]
    bad_state = tmp_path / "state.json"
    bad_state.write_text("[]")
    cases = [
        (["--port", str(port)], "in use"),
        (["--host", "no-such-host.invalid", "--allow-remote"], "cannot resolve --host"),
        (["--state", str(bad_state), "--port", "0"], "not a state file"),
    ]
    try:
        for args, needle in cases:
            result = run_cli("emulator", "serve", *args, timeout=60)
            lines = result.stderr.strip().splitlines()
            assert result.returncode == 1 and len(lines) == 1 and lines[0].startswith("Error: "), result.stderr
            assert needle in lines[0]
    finally:
        taken.close()
