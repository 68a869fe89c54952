"""Smoke tests of the shared emulator fixtures (real server and in-process)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import httpx
import pytest

if TYPE_CHECKING:
    from provisioner.emulator.testing import EmulatorServer


def test_server_fixture_serves_and_counts(emulator_server: EmulatorServer) -> None:
    with emulator_server.client() as client:
        created = client.post(
            "/v1/convai/phone-numbers",
            json={"provider": "sip_trunk", "phone_number": "+15550001111", "label": "pbx"},
        )
        assert created.status_code == 200
        listed = client.get("/v1/convai/phone-numbers")
    assert [n["phone_number"] for n in listed.json()] == ["+15550001111"]
    assert emulator_server.stats()["routes"]["POST /v1/convai/phone-numbers"] == 1


@pytest.mark.parametrize("attempt", [1, 2])
def test_server_fixture_is_reset_between_tests(emulator_server: EmulatorServer, attempt: int) -> None:
    # Each attempt leaves a number behind, so the second one sees the reset even when run alone.
    with emulator_server.client() as client:
        assert client.get("/v1/convai/phone-numbers").json() == []
        body = {"provider": "sip_trunk", "phone_number": f"+1555000{attempt:04d}", "label": "left behind"}
        assert client.post("/v1/convai/phone-numbers", json=body).status_code == 200


@pytest.mark.anyio
async def test_asgi_client(asgi_client: httpx.AsyncClient) -> None:
    response = await asgi_client.get("/v1/convai/settings")
    assert response.status_code == 200
    assert response.json()["rag_retention_period_days"] == 10
