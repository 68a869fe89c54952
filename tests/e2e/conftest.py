"""End-to-end fixtures: the emulator as a real server (subprocess, real port), the CLI as a subprocess.

`seeded_server` starts `telephony emulator serve --seed FILE` once per module (agents with fixed
ids and prompts the tests check are never touched, plus one number the manifest does not
declare) and resets it to that seed before each test. `cli` runs `python -m provisioner ...`
with the API key and URL in the environment, records every stdout/stderr and plan file so a test
can assert no secret value ever appeared in any of them.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import EmulatorServer, launch_emulator

API_KEY = "e2e-key"
# Subprocesses run this checkout's code, whatever `pip install -e` last pointed at.
REPO = str(Path(__file__).resolve().parents[2])


def subprocess_env(base: dict[str, str]) -> dict[str, str]:
    path = base.get("PYTHONPATH")
    return {**base, "PYTHONPATH": REPO + (os.pathsep + path if path else "")}


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


class Server(EmulatorServer):
    """The emulator served by `launch_emulator` (tests/conftest.py), with e2e shorthands."""

    def api(self) -> httpx.Client:
        return self.client()

    def control(self, method: str, path: str, body: Any = None) -> Any:
        return self._call(method, path, body)


def start_server(tmp: Path, seed: dict[str, Any] | None = None, *args: str) -> Server:
    seed_file = tmp / "seed.json"
    seed_file.write_text(json.dumps(seed or SEED))
    # cwd=REPO: `python -m provisioner` runs this checkout's code.
    launched = launch_emulator(["--seed", str(seed_file), *args], api_key=API_KEY, cwd=Path(REPO))
    return Server(launched.proc, launched.url, API_KEY)


@pytest.fixture(scope="module")
def seeded_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    server = start_server(tmp_path_factory.mktemp("emulator"))
    yield server
    server.stop()


@pytest.fixture
def server(seeded_server: Server) -> Server:
    seeded_server.control("POST", "reset")
    seeded_server.control("DELETE", "faults")
    seeded_server.control("DELETE", "drop-fields")
    return seeded_server


@dataclass
class Cli:
    cwd: Path
    server: Server
    outputs: list[str] = field(default_factory=list)
    written: set[Path] = field(default_factory=set)  # manifests the test wrote (they hold ${VAR}s only)

    def env(self, **extra: str) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("ELEVENLABS_", "TELEPHONY_"))}
        env.update(SECRETS)
        env.update(
            ELEVENLABS_API_KEY=API_KEY,
            ELEVENLABS_BASE_URL=self.server.url,
            TELEPHONY_RETRY_BASE_DELAY="0.01",
            TELEPHONY_RETRY_MAX_DELAY="0.05",
            TELEPHONY_RETRY_AFTER_CAP="0",
            NO_COLOR="1",
        )
        env.update(extra)
        return subprocess_env(env)

    def __call__(
        self, *args: str, env: dict[str, str] | None = None, input: str | None = None
    ) -> subprocess.CompletedProcess[str]:
        result = subprocess.run(
            [sys.executable, "-m", "provisioner", *args],
            cwd=self.cwd,
            env=env or self.env(),
            capture_output=True,
            text=True,
            input=input,
            timeout=120,
        )
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
def cli(server: Server, tmp_path: Path) -> Iterator[Cli]:
    runner = Cli(tmp_path, server)
    yield runner
    runner.assert_no_secrets()
