"""`telephony doctor` against the emulator as a real server: the API key and agent checks."""

from __future__ import annotations

import json

from tests.e2e.conftest import SALES, SUPPORT, Cli

MANIFEST = f"""version: 1
agents:
  support:
    id: {SUPPORT}
  sales:
    id: {SALES}
  ghost:
    id: agent_0000k3ttaq12ewp8b7qv5rfy0000
"""


def test_doctor_checks_the_key_and_each_agent(cli: Cli) -> None:
    cli.write(MANIFEST)
    result = cli("doctor", "--format", "json")
    assert result.returncode == 1, result.stderr
    checks = {(c["name"], c["subject"]): c["status"] for c in json.loads(result.stdout)["checks"]}
    assert checks == {
        ("api-key", cli.server.url): "ok",
        ("agent", "support"): "ok",
        ("agent", "sales"): "ok",
        ("agent", "ghost"): "fail",
    }


def test_doctor_with_a_refused_key_skips_the_agents(cli: Cli) -> None:
    cli.write(MANIFEST)
    result = cli("doctor", env=cli.env(ELEVENLABS_API_KEY="wrong-key"))
    assert result.returncode == 1
    lines = result.stdout.splitlines()
    assert lines[0].startswith("fail  api-key") and "HTTP 401" in lines[0]
    assert all(line.startswith("warn  agent") for line in lines[1:4])
    assert "wrong-key" not in result.stdout + result.stderr


def test_doctor_all_ok_exits_0(cli: Cli) -> None:
    cli.write(f"version: 1\nagents:\n  support:\n    id: {SUPPORT}\n")
    result = cli("doctor")
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.splitlines()[-1] == "Doctor: 2 ok, 0 warn, 0 fail."
