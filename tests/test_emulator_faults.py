"""Fault injection: real socket drops under uvicorn, the matching httpx errors in-process."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

import httpx
import pytest

from provisioner.emulator import EmulatorTransport, FaultPlan, FaultSpecError, build_app

if TYPE_CHECKING:
    from provisioner.emulator.testing import EmulatorServer

SIP = {"phone_number": "+15550001111", "label": "pbx", "provider": "sip_trunk"}


def numbers(server: EmulatorServer) -> list[str]:
    with server.client() as client:
        return [n["phone_number"] for n in client.get("/v1/convai/phone-numbers").json()]


def test_drop_after_commits_then_really_drops_the_socket(emulator_server: EmulatorServer) -> None:
    emulator_server.set_faults("kinds=drop_after;match=POST /v1/convai/phone-numbers;count=1")
    with emulator_server.client() as client, pytest.raises(httpx.RemoteProtocolError):
        client.post("/v1/convai/phone-numbers", json=SIP)
    assert numbers(emulator_server) == ["+15550001111"]  # the write committed: a blind retry duplicates
    stats = emulator_server.stats()
    assert stats["faults"] == {"drop_after": 1} and stats["statuses"]["dropped"] == 1


def test_drop_before_does_not_commit(emulator_server: EmulatorServer) -> None:
    emulator_server.set_faults("kinds=drop_before;count=1")
    # The socket is aborted unread: the client sees the close, or a reset if it was still sending.
    dropped = (httpx.RemoteProtocolError, httpx.ReadError, httpx.WriteError)
    with emulator_server.client() as client, pytest.raises(dropped):
        client.post("/v1/convai/phone-numbers", json=SIP)
    assert numbers(emulator_server) == []


def test_429_with_retry_after_is_retried_by_the_sdk(emulator_server: EmulatorServer) -> None:
    emulator_server.set_faults("kinds=429;retry_after=0;count=1;match=POST /v1/convai/phone-numbers")
    with emulator_server.client() as client:
        response = client.post("/v1/convai/phone-numbers", json=SIP)
        assert response.status_code == 429 and response.headers["retry-after"] == "0"
        assert response.json()["detail"]["code"] == "rate_limit_exceeded"
    emulator_server.set_faults("kinds=429;retry_after=0;count=1;match=POST /v1/convai/phone-numbers")
    sdk = emulator_server.sdk()
    created = sdk.conversational_ai.phone_numbers.create(request={**SIP, "phone_number": "+15550002222"})
    assert created.phone_number_id.startswith("phnum_")
    assert emulator_server.stats()["routes"]["POST /v1/convai/phone-numbers"] == 3


@pytest.mark.parametrize(("kind", "status"), [("500", 500), ("503", 503)])
def test_server_errors(emulator_server: EmulatorServer, kind: str, status: int) -> None:
    emulator_server.set_faults(f"kinds={kind};match=GET /v1/convai/settings")
    with emulator_server.client() as client:
        assert client.get("/v1/convai/settings").status_code == status
        assert client.get("/v1/convai/phone-numbers").status_code == 200  # not matched
        assert client.get("/_emulator/stats").status_code == 200  # never faulted
    emulator_server.clear_faults()
    with emulator_server.client() as client:
        assert client.get("/v1/convai/settings").status_code == 200


def test_latency(emulator_server: EmulatorServer) -> None:
    emulator_server.set_faults("kinds=;latency_ms=150")
    with emulator_server.client() as client:
        started = time.perf_counter()
        client.get("/v1/convai/settings")
        assert time.perf_counter() - started >= 0.15


def test_rejects_a_bad_spec(emulator_server: EmulatorServer) -> None:
    with httpx.Client(base_url=emulator_server.url) as client:
        response = client.put("/_emulator/faults", json={"spec": "kinds=418"})
    assert response.status_code == 400 and "unknown fault kind" in response.json()["detail"]["message"]


def test_plan_is_deterministic_with_a_seed() -> None:
    def run(seed: int) -> list[str | None]:
        plan = FaultPlan.parse(f"seed={seed};rate=0.3;kinds=429,500,drop_after")
        return [plan.draw("GET", "/v1/convai/phone-numbers") for _ in range(200)]

    assert run(7) == run(7)
    assert run(7) != run(8)
    assert 30 < sum(f is not None for f in run(7)) < 90


def test_plan_parsing() -> None:
    plan = FaultPlan.parse("match=POST /v1/convai/phone-numbers*, */v1/convai/agents/*;after=1;count=2;kinds=503")
    assert plan.matches("POST", "/v1/convai/phone-numbers") and plan.matches("DELETE", "/v1/convai/agents/x")
    assert not plan.matches("GET", "/v1/convai/phone-numbers")
    draws = [plan.draw("POST", "/v1/convai/phone-numbers") for _ in range(5)]
    assert draws == [None, "503", "503", None, None]
    for bad in ("rate=2", "nonsense", "colour=blue", "count=x"):
        with pytest.raises(FaultSpecError):
            FaultPlan.parse(bad)


@pytest.mark.anyio
async def test_in_process_drop_after_raises_the_httpx_error() -> None:
    app = build_app(faults="kinds=drop_after;count=1")
    transport = EmulatorTransport(app)
    async with httpx.AsyncClient(transport=transport, base_url="http://emulator", headers={"xi-api-key": "k"}) as c:
        with pytest.raises(httpx.RemoteProtocolError, match="Server disconnected without sending a response"):
            await c.post("/v1/convai/phone-numbers", json=SIP)
        listed = (await c.get("/v1/convai/phone-numbers")).json()
    assert [n["phone_number"] for n in listed] == ["+15550001111"]


@pytest.mark.anyio
async def test_in_process_drop_before_does_not_commit() -> None:
    app = build_app(faults="kinds=drop_before;count=1")
    async with httpx.AsyncClient(
        transport=EmulatorTransport(app), base_url="http://emulator", headers={"xi-api-key": "k"}
    ) as c:
        with pytest.raises(httpx.RemoteProtocolError):
            await c.post("/v1/convai/phone-numbers", json=SIP)
        assert (await c.get("/v1/convai/phone-numbers")).json() == []


def test_drop_is_a_real_socket_close(emulator_server: EmulatorServer) -> None:
    """At the socket level: the server closes the connection without writing a byte."""
    import socket
    from urllib.parse import urlparse

    emulator_server.set_faults("kinds=drop_before;count=1")
    url = urlparse(emulator_server.url)
    with socket.create_connection((url.hostname, url.port), timeout=5) as sock:
        sock.sendall(b"GET /v1/convai/settings HTTP/1.1\r\nHost: x\r\nxi-api-key: test-key\r\n\r\n")
        try:
            data = sock.recv(1024)
        except ConnectionResetError:
            data = b""
    assert data == b""
