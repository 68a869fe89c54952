"""The emulator's server limits: --max-concurrency and --rate-limit, their 429 bodies and counts."""

from __future__ import annotations

import asyncio

import pytest

from provisioner.emulator import build_app
from provisioner.emulator.limits import ServerLimits
from provisioner.emulator.testing import inprocess_client, inprocess_controls

pytestmark = pytest.mark.anyio
SETTINGS = "/v1/convai/settings"


async def test_above_max_concurrency_is_a_429_concurrent_limit_exceeded() -> None:
    app = build_app(max_concurrency=2, latency_ms=20)
    async with inprocess_client(app) as api:
        controls = inprocess_controls(app)
        api_calls = [api.get(SETTINGS) for _ in range(5)]
        # The control routes are never limited, even while the API is full.
        responses, stats = await asyncio.gather(asyncio.gather(*api_calls), controls.stats())
    statuses = sorted(r.status_code for r in responses)
    assert statuses == [200, 200, 429, 429, 429]
    refused = next(r for r in responses if r.status_code == 429)
    detail = refused.json()["detail"]
    assert detail["code"] == "concurrent_limit_exceeded"
    assert detail["status"] == "too_many_concurrent_requests"
    assert "at most 2" in detail["message"]
    assert "retry-after" not in refused.headers
    assert stats["limits"]["in_flight"] == 2
    stats = await controls.stats()
    assert stats["statuses"] == {"200": 2, "429": 3}
    assert stats["limits"] == {
        "max_concurrency": 2,
        "rate_limit": None,
        "in_flight": 0,
        "peak_in_flight": 2,
        "refused_concurrency": 3,
        "refused_rate": 0,
    }
    # In sequence, never refused: the count goes back down.
    async with inprocess_client(app) as api:
        assert [(await api.get(SETTINGS)).status_code for _ in range(4)] == [200] * 4


async def test_over_the_rate_is_a_429_rate_limit_exceeded_with_retry_after() -> None:
    app = build_app(rate_limit=2)  # a bucket of 2 tokens, 2 back per second
    async with inprocess_client(app) as api:
        codes = [(await api.get(SETTINGS)).status_code for _ in range(3)]
        refused = await api.get(SETTINGS)
    assert codes == [200, 200, 429]
    assert refused.status_code == 429 and refused.headers["retry-after"] == "1"
    detail = refused.json()["detail"]
    assert (detail["code"], detail["status"]) == ("rate_limit_exceeded", "rate_limit_exceeded")
    controls = inprocess_controls(app)
    for _ in range(5):  # never limited, never counted
        stats = await controls.stats()
    assert stats["limits"]["refused_rate"] == 2 and stats["statuses"] == {"200": 2, "429": 2}
    await controls.reset()
    assert (await controls.stats())["limits"]["refused_rate"] == 0


def test_token_bucket_refills_at_the_rate() -> None:
    now = [0.0]
    limits = ServerLimits(rate_limit=4, clock=lambda: now[0])
    admitted = [limits.admit() is None for _ in range(6)]
    assert admitted == [True] * 4 + [False] * 2  # a burst of one second's worth
    for _ in range(4):
        limits.done()
    now[0] += 0.5  # two tokens back
    assert [limits.admit() is None for _ in range(3)] == [True, True, False]
    refused = limits.admit()
    assert refused is not None and refused.headers == {"Retry-After": "1"}
    assert limits.refused_rate == 4


def test_bad_limits_are_refused() -> None:
    with pytest.raises(ValueError):
        ServerLimits(max_concurrency=0)
    with pytest.raises(ValueError):
        ServerLimits(rate_limit=0)
