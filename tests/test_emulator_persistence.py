"""State: `--state` survives a restart; a SIGKILL during a write burst leaves a loadable file."""

from __future__ import annotations

import json
import signal
import threading
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx

if TYPE_CHECKING:
    from provisioner.emulator.testing import EmulatorServer

SECRETS = ("twilio-token-value", "sip-password-value", "webhook-secret-value", "AC0123456789")


def populate(server: EmulatorServer) -> None:
    with server.client() as c:
        agent_id = c.post("/v1/convai/agents/create", json={"conversation_config": {}, "name": "Support"}).json()[
            "agent_id"
        ]
        twilio = {
            "provider": "twilio",
            "phone_number": "+15550001111",
            "label": "support",
            "sid": "AC0123456789",
            "token": "twilio-token-value",
            "agent_id": agent_id,
        }
        assert c.post("/v1/convai/phone-numbers", json=twilio).status_code == 200
        sip = {
            "provider": "sip_trunk",
            "phone_number": "+15550002222",
            "label": "pbx",
            "outbound_trunk_config": {
                "address": "sip.example.test",
                "credentials": {"username": "u", "password": "sip-password-value"},
            },
        }
        assert c.post("/v1/convai/phone-numbers", json=sip).status_code == 200
        secret_id = c.post(
            "/v1/convai/secrets", json={"type": "new", "name": "hook", "value": "webhook-secret-value"}
        ).json()["secret_id"]
        hook = {"url": "https://hooks.example.test", "request_headers": {"X-Token": {"secret_id": secret_id}}}
        assert c.patch("/v1/convai/settings", json={"conversation_initiation_client_data_webhook": hook}).is_success
        batch = {"call_name": "b", "agent_id": agent_id, "recipients": [{"phone_number": "+15550009999"}]}
        assert c.post("/v1/convai/batch-calling/submit", json=batch).status_code == 200


def comparable(state: dict[str, Any]) -> dict[str, Any]:
    state = dict(state)
    state.pop("clock")
    return state


def test_restart_with_state_keeps_everything(start_emulator: Callable[..., EmulatorServer], tmp_path: Path) -> None:
    state_file = tmp_path / "state.json"
    first = start_emulator("--state", str(state_file))
    populate(first)
    first.advance_clock(30)
    before = first.state()
    assert first.stop() == 0

    text = state_file.read_text()
    for secret in SECRETS:
        assert secret not in text  # only salted fingerprints are stored
    second = start_emulator("--state", str(state_file))
    after = second.state()
    assert comparable(after) == comparable(before)
    assert after["clock"]["offset"] == 30
    with second.client() as c:
        hook = c.get("/v1/convai/settings").json()["conversation_initiation_client_data_webhook"]
        secret_id = hook["request_headers"]["X-Token"]["secret_id"]
        assert c.delete(f"/v1/convai/secrets/{secret_id}").status_code == 400  # still in use after restart


def test_sigkill_during_a_write_burst_leaves_a_loadable_file(
    start_emulator: Callable[..., EmulatorServer], tmp_path: Path
) -> None:
    state_file = tmp_path / "state.json"
    server = start_emulator("--state", str(state_file))
    populate(server)
    written = threading.Event()
    stop = threading.Event()

    def burst() -> None:
        with server.client() as c:
            for i in range(100_000):
                if stop.is_set():
                    return
                body = {"provider": "sip_trunk", "phone_number": f"+1666{i:07d}", "label": "x" * 200}
                try:
                    c.post("/v1/convai/phone-numbers", json=body)
                except httpx.HTTPError:
                    return
                if i == 50:
                    written.set()

    workers = [threading.Thread(target=burst) for _ in range(1)]
    for w in workers:
        w.start()
    assert written.wait(30)
    server.stop(signal.SIGKILL)
    stop.set()
    for w in workers:
        w.join(10)

    state = json.loads(state_file.read_text())  # never half-written
    assert len(state["phone_numbers"]) >= 50
    restarted = start_emulator("--state", str(state_file))
    with restarted.client() as c:
        assert len(c.get("/v1/convai/phone-numbers").json()) == len(state["phone_numbers"])
    assert not list(tmp_path.glob(".state.json.*.tmp"))  # stale temporaries cleaned on start
