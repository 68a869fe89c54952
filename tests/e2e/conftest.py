"""End-to-end fixtures: the emulator as a real server (subprocess, real port), the CLI as a subprocess.

`seeded_server` starts `telephony emulator serve --seed FILE` once per module (agents with fixed
ids and prompts the tests check are never touched, plus one number the manifest does not
declare) and resets it to that seed before each test. `cli` runs `python -m provisioner ...`
(`tests.helpers.run_cli`) with the API key and URL in the environment, records every
stdout/stderr and plan file so a test can assert no secret value ever appeared in any of them.
The server is a `provisioner.emulator.testing.EmulatorServer`: `.call(METHOD, PATH, BODY)` for
any `/_emulator/` route, `.client()` for the real API.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from provisioner.emulator.testing import EmulatorServer, start_server
from tests.e2e import conformance
from tests.helpers import cli_env, run_cli

__all__ = ["EmulatorServer"]
API_KEY = "e2e-key"

SUPPORT = "agent_3701k3ttaq12ewp8b7qv5rfyszkz"
SALES = "agent_4801k3ttaq12ewp8b7qv5rfysabc"
PROMPTS = {SUPPORT: "You are the support agent. Be kind.", SALES: "You are the sales agent. Be brief."}
UNMANAGED = "+14155550999"
SECRETS = {
    "TWILIO_ACCOUNT_SID": "AC" + "5e" * 16,
    "TWILIO_AUTH_TOKEN": "tw-token-Zq81vXpL0",
    "PBX_SIP_PASSWORD": "sip-out-pw-Kd93mQ",
    "PBX_INBOUND_PASSWORD": "sip-in-pw-Vb27nR",
    "CRM_WEBHOOK_TOKEN": "crm-hook-token-Hx55wE",
}
SEED = {
    "agents": [
        {
            "agent_id": SUPPORT,
            "name": "Support",
            "conversation_config": {"agent": {"prompt": {"prompt": PROMPTS[SUPPORT]}, "first_message": "Hi!"}},
        },
        {"agent_id": SALES, "name": "Sales", "conversation_config": {"agent": {"prompt": {"prompt": PROMPTS[SALES]}}}},
    ],
    "phone_numbers": [
        {
            "provider": "twilio",
            "phone_number": UNMANAGED,
            "label": "Legacy line (not in the manifest)",
            "sid": "AC" + "0" * 32,
            "token": "legacy-token",
        },
    ],
}


def start_seeded(tmp: Path, seed: dict[str, Any] | None = None, *args: str) -> EmulatorServer:
    """`emulator serve --seed FILE *args`, FILE holding `seed` (default `SEED`) written under `tmp`."""
    seed_file = tmp / "seed.json"
    seed_file.write_text(json.dumps(seed or SEED))
    return start_server("--seed", str(seed_file), *args, api_key=API_KEY)


@pytest.fixture(scope="module")
def seeded_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmulatorServer]:
    with start_seeded(tmp_path_factory.mktemp("emulator")) as server:
        yield server


@pytest.fixture
def server(seeded_server: EmulatorServer) -> EmulatorServer:
    seeded_server.reset()
    seeded_server.clear_faults()
    seeded_server.clear_drop_fields()
    return seeded_server


@dataclass
class Cli:
    cwd: Path
    server: EmulatorServer
    outputs: list[str] = field(default_factory=list)
    written: set[Path] = field(default_factory=set)  # manifests the test wrote (they hold ${VAR}s only)

    def env(self, **extra: str) -> dict[str, str]:
        settings = {
            **SECRETS,
            "ELEVENLABS_API_KEY": API_KEY,
            "ELEVENLABS_BASE_URL": self.server.url,
            "TELEPHONY_RETRY_BASE_DELAY": "0.01",
            "TELEPHONY_RETRY_MAX_DELAY": "0.05",
            "TELEPHONY_RETRY_AFTER_CAP": "0",
        }
        return cli_env(**{**settings, **extra})

    def __call__(
        self, *args: str, env: dict[str, str] | None = None, input: str | None = None
    ) -> subprocess.CompletedProcess[str]:
        result = run_cli(*args, cwd=self.cwd, env=env or self.env(), input=input)
        self.outputs += [result.stdout, result.stderr]
        return result

    def write(self, text: str, name: str = "telephony.yaml") -> Path:
        path = self.cwd / name
        path.write_text(text)
        self.written.add(path)
        return path

    def assert_no_secrets(self) -> None:
        # Every file the CLI left in its working directory (plan files, state), not only non-YAML ones.
        files = [p.read_text(errors="replace") for p in self.cwd.rglob("*") if p.is_file() and p not in self.written]
        for blob in self.outputs + files:
            for name, value in {**SECRETS, "ELEVENLABS_API_KEY": API_KEY}.items():
                assert value not in blob, f"secret {name} leaked"


@pytest.fixture
def cli(server: EmulatorServer, tmp_path: Path) -> Iterator[Cli]:
    runner = Cli(tmp_path, server)
    yield runner
    runner.assert_no_secrets()
    # Every request body sent during the test (by the CLI, and by the test acting as the dashboard)
    # validates against the official spec's request schemas.
    assert conformance.problems(server.call("GET", "requests")) == []
