"""The client's adaptive concurrency (provisioner.api.limiter): cuts on a concurrency 429, rises
again after successes, never above --parallelism, and pauses every worker on a rate-limit 429."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest

from provisioner.api.client import ElevenLabsClient, RetryPolicy
from provisioner.api.limiter import AdaptiveLimiter, throttle_kind
from provisioner.emulator import EmulatorTransport, build_app
from provisioner.emulator.testing import inprocess_controls

pytestmark = pytest.mark.anyio
FAST = RetryPolicy(max_attempts=6, base_delay=0.0, max_delay=0.0, max_retry_after=5.0)
SETTINGS = {"conversation_initiation_client_data_webhook": None}
CONCURRENT = {
    "detail": {"status": "too_many_concurrent_requests", "code": "concurrent_limit_exceeded", "message": "busy"}
}
RATE = {"detail": {"status": "rate_limit_exceeded", "code": "rate_limit_exceeded", "message": "slow down"}}


@pytest.mark.parametrize(
    ("body", "kind"),
    [
        (CONCURRENT, "concurrency"),
        ({"detail": {"status": "too_many_concurrent_requests"}}, "concurrency"),
        ({"detail": {"status": "system_busy", "message": "x"}}, "concurrency"),
        (RATE, "rate"),
        # The emulator's injected 429 fault: the current code wins over the legacy status.
        ({"detail": {"code": "rate_limit_exceeded", "status": "too_many_concurrent_requests"}}, "rate"),
        ({"detail": {"message": "slow down"}}, None),
        ({"detail": [{"loc": ["body"]}]}, None),
        ("text", None),
        (None, None),
    ],
)
def test_throttle_kind(body: Any, kind: str | None) -> None:
    assert throttle_kind(body) == kind


async def settle() -> None:
    for _ in range(5):
        await asyncio.sleep(0)


async def test_a_concurrency_429_cuts_the_limit_for_every_waiting_worker() -> None:
    limiter = AdaptiveLimiter(8, increase_after=1000)
    tickets = [await limiter.acquire() for _ in range(8)]
    limiter.release(tickets.pop(), "concurrency")
    assert (limiter.limit, limiter.decreases) == (4, 1)
    # The rest of the same burst was refused too: sent before the cut, it says nothing new.
    limiter.release(tickets.pop(), "concurrency")
    assert (limiter.limit, limiter.decreases, limiter.in_flight) == (4, 1, 6)
    waiting = [asyncio.create_task(limiter.acquire()) for _ in range(5)]
    await settle()
    assert not any(t.done() for t in waiting)  # 6 in flight, 4 allowed: no one starts
    limiter.release(tickets.pop(), "success")
    limiter.release(tickets.pop(), "success")
    await settle()
    assert limiter.in_flight == 4 and not any(t.done() for t in waiting)
    limiter.release(tickets.pop(), "success")
    await settle()
    assert limiter.in_flight == 4 and [t.done() for t in waiting] == [True, False, False, False, False]
    # A refusal of a request sent under the new limit cuts again.
    limiter.release(await waiting[0], "concurrency")
    assert limiter.limit == 2
    for task in waiting[1:]:
        task.cancel()
    await settle()
    assert limiter.in_flight == 3 and limiter.peak == 8


async def test_successes_raise_the_limit_one_at_a_time_never_above_the_maximum() -> None:
    limiter = AdaptiveLimiter(4, increase_after=3)
    limiter.release(await limiter.acquire(), "concurrency")
    assert limiter.limit == 2
    seen = []
    for _ in range(12):
        limiter.release(await limiter.acquire(), "success")
        seen.append(limiter.limit)
    assert seen == [2, 2, 3, 3, 3, 4, 4, 4, 4, 4, 4, 4]
    assert limiter.increases == 2 and limiter.lowest == 2


async def test_a_cancelled_waiter_gives_its_slot_back() -> None:
    limiter = AdaptiveLimiter(1)
    first = await limiter.acquire()
    waiter = asyncio.create_task(limiter.acquire())
    await settle()
    waiter.cancel()
    await settle()
    limiter.release(first, "success")
    assert limiter.in_flight == 0
    limiter.release(await limiter.acquire(), "success")
    assert limiter.in_flight == 0


@dataclass
class FakeServer:
    """An async transport handler that counts requests in flight and refuses some of them."""

    refuse: Callable[[FakeServer], httpx.Response | None]
    delay: float = 0.002
    in_flight: int = 0
    peak: int = 0
    served: int = 0
    refused: int = 0
    starts: list[tuple[float, int]] = field(default_factory=list)  # (loop time, in flight then)

    async def __call__(self, request: httpx.Request) -> httpx.Response:
        self.in_flight += 1
        try:
            self.peak = max(self.peak, self.in_flight)
            self.starts.append((asyncio.get_running_loop().time(), self.in_flight))
            refused = self.refuse(self)
            if refused is not None:
                self.refused += 1
                return refused
            await asyncio.sleep(self.delay)
            self.served += 1
            return httpx.Response(200, json=SETTINGS)
        finally:
            self.in_flight -= 1


def fake_client(server: FakeServer, parallelism: int = 8, increase_after: int = 10) -> ElevenLabsClient:
    client = ElevenLabsClient(
        "http://api.test", "key", transport=httpx.MockTransport(server), retry=FAST, parallelism=parallelism
    )
    client.limiter.increase_after = increase_after
    return client


async def run_all(client: ElevenLabsClient, count: int) -> None:
    calls: list[Awaitable[Any]] = [client.get_settings() for _ in range(count)]
    async with client:
        await asyncio.gather(*calls)


async def test_never_more_in_flight_than_parallelism() -> None:
    server = FakeServer(lambda s: None)
    client = fake_client(server, parallelism=8)
    await run_all(client, 60)
    assert server.peak == 8 and client.limiter.peak == 8 and server.served == 60


async def test_one_429_lowers_concurrency_for_all_workers() -> None:
    at: list[float] = []

    def refuse_first(server: FakeServer) -> httpx.Response | None:
        if not at:
            at.append(asyncio.get_running_loop().time())
            return httpx.Response(429, json=CONCURRENT)
        return None

    server = FakeServer(refuse_first, delay=0.005)
    client = fake_client(server, increase_after=1000)
    await run_all(client, 60)
    after = [in_flight for when, in_flight in server.starts if when > at[0]]
    assert len(after) >= 50 and max(after) == 4  # halved from 8, for every worker, and used
    assert (client.limiter.limit, client.limiter.decreases, server.refused, server.served) == (4, 1, 1, 60)
    assert client.stats.retries == 1


async def test_successes_raise_it_again_up_to_parallelism() -> None:
    refused: list[int] = []

    def refuse_once(server: FakeServer) -> httpx.Response | None:
        if not refused:
            refused.append(1)
            return httpx.Response(429, json=CONCURRENT)
        return None

    server = FakeServer(refuse_once)
    client = fake_client(server, increase_after=2)
    await run_all(client, 80)
    assert client.limiter.lowest == 4 and client.limiter.increases == 4 and client.limiter.limit == 8
    assert server.peak == 8 and server.served == 80


async def test_a_server_allowing_3_at_once_is_met_with_few_429s() -> None:
    def over_three(server: FakeServer) -> httpx.Response | None:
        return httpx.Response(429, json=CONCURRENT) if server.in_flight > 3 else None

    server = FakeServer(over_three)
    client = fake_client(server, parallelism=8)
    await run_all(client, 100)
    print(f"429s: {server.refused} for 100 requests; lowest limit {client.limiter.lowest}")
    assert server.served == 100
    # The first burst (8 against 3) and then about one per climb past 3 (every 10 successes at 3).
    assert server.refused <= 15, server.refused
    assert client.limiter.peak <= 8 and client.limiter.limit <= 4


async def test_a_rate_429_pauses_every_worker_until_retry_after() -> None:
    def refuse_tenth(server: FakeServer) -> httpx.Response | None:
        if len(server.starts) == 10:
            return httpx.Response(429, headers={"Retry-After": "0.1"}, json=RATE)
        return None

    server = FakeServer(refuse_tenth)
    client = fake_client(server)
    await run_all(client, 40)
    until = client.limiter.paused_until()
    refused_at = server.starts[9][0]
    during = [when for when, _ in server.starts if refused_at < when < until - 0.001]
    assert during == []  # nothing sent by any worker until the Retry-After time
    assert client.limiter.pauses == 1 and client.limiter.decreases == 0
    assert server.refused == 1 and server.served == 40 and client.stats.retries == 1


async def test_under_the_emulators_max_concurrency_every_request_succeeds() -> None:
    app = build_app(max_concurrency=3, latency_ms=2)
    client = ElevenLabsClient("http://emulator", "key", transport=EmulatorTransport(app), retry=FAST, parallelism=8)
    await run_all(client, 40)
    limits = (await inprocess_controls(app).stats())["limits"]
    print(f"emulator --max-concurrency 3: {limits}")
    assert limits["peak_in_flight"] == 3  # the server was kept full ...
    assert 1 <= limits["refused_concurrency"] <= 15  # ... and refused little
    assert client.stats.by_status["200"] == 40 and client.limiter.peak <= 8


@pytest.mark.slow
async def test_under_the_emulators_rate_limit_requests_are_spread_with_few_429s() -> None:
    """R=20 per second, 60 requests from 8 workers: about 3 seconds, and each refusal pauses
    everyone, so the 429s are at most the requests in flight when the bucket ran dry, per second."""
    app = build_app(rate_limit=20)
    client = ElevenLabsClient("http://emulator", "key", transport=EmulatorTransport(app), retry=FAST, parallelism=8)
    await run_all(client, 60)
    stats = await inprocess_controls(app).stats()
    assert stats["statuses"]["200"] == 60 and client.stats.by_status["200"] == 60
    refused = stats["limits"]["refused_rate"]
    print(f"emulator --rate-limit 20: {refused} refused, {client.limiter.pauses} pauses")
    assert 1 <= refused <= 8 * 3, refused  # each worker retrying on its own would be refused again and again
    assert client.limiter.decreases == 0 and client.limiter.pauses >= 1
