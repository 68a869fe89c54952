"""A hostile or broken server never hangs a run nor exhausts memory: real local HTTP servers.

Each case ends in one `ApiError` (or `DeadlineExceeded`) naming the call and what to do: paging
that repeats a cursor or never ends, a body that stalls or drips, a body over the size cap; and a
DELETE answered 404 (already gone) is a success. Limits are shrunk so each test takes ~1-3 s.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator

import pytest

from provisioner.api.client import ApiError, ElevenLabsClient, Limits, RetryPolicy
from provisioner.errors import DeadlineExceeded
from tests.hostile import HostileServer, Reply, Seen, json_reply

pytestmark = pytest.mark.slow

V2 = "/v1/convai/v2/phone-numbers"
ONCE = RetryPolicy(max_attempts=1, base_delay=0.0, max_delay=0.0)


@pytest.fixture
def hostile() -> Iterator[HostileServer]:
    server = HostileServer()
    yield server
    server.stop()


def client(server: HostileServer, limits: Limits | None = None, retry: RetryPolicy = ONCE) -> ElevenLabsClient:
    return ElevenLabsClient(server.url, "sk-hostile-key", retry=retry, limits=limits)


def page(cursor: str | None, has_more: bool | None = True) -> Reply:
    return json_reply({"phone_numbers": [], "next_cursor": cursor, "has_more": has_more})


def test_a_cursor_that_never_changes_is_an_error(hostile: HostileServer) -> None:
    hostile.on("GET", V2, page("same-cursor"))

    async def run() -> None:
        async with client(hostile) as api:
            await api.list_phone_numbers()

    with pytest.raises(ApiError) as caught:
        asyncio.run(run())
    message = str(caught.value)
    assert message.startswith(f"GET {V2} failed") and "repeat cursor 'same-cursor'" in message
    assert "\n" not in message
    assert len(hostile.calls("GET", V2)) == 2  # the first page, and the one that repeated


def test_paging_forever_stops_at_the_page_cap(hostile: HostileServer) -> None:
    counter = iter(range(10**9))
    hostile.on("GET", V2, lambda seen: page(f"c{next(counter)}"))

    async def run() -> None:
        async with client(hostile, Limits(max_pages=20)) as api:
            await api.list_phone_numbers()

    with pytest.raises(ApiError, match=r"more than 20 pages .* raise TELEPHONY_MAX_PAGES"):
        asyncio.run(run())
    assert len(hostile.calls("GET", V2)) == 20


def test_the_secrets_list_must_make_progress_too(hostile: HostileServer) -> None:
    hostile.on("GET", "/v1/convai/secrets", json_reply({"secrets": [], "next_cursor": "again"}))

    async def run() -> None:
        async with client(hostile) as api:
            await api.list_secrets()

    with pytest.raises(ApiError, match=r"GET /v1/convai/secrets failed .* paging makes no progress"):
        asyncio.run(run())


def test_a_stalled_body_ends_at_the_stall_guard(hostile: HostileServer) -> None:
    # One byte, then nothing for 2.5 s: the stall guard (0.5 s) ends it long before.
    hostile.on("GET", "/v1/convai/settings", Reply(body=b"{}", drip=2.5))

    async def run() -> None:
        async with client(hostile, Limits(stall_timeout=0.5)) as api:
            await api.get_settings()

    started = time.monotonic()
    with pytest.raises(ApiError) as caught:
        asyncio.run(run())
    assert time.monotonic() - started < 2.0
    assert "sent nothing for 0.5 s (the stall guard)" in str(caught.value)
    assert "TELEPHONY_STALL_TIMEOUT" in str(caught.value)


def test_a_dripping_body_ends_at_the_run_deadline(hostile: HostileServer) -> None:
    # A byte every 0.2 s never trips the stall guard; the run deadline (1 s) ends it.
    hostile.on("GET", V2, Reply(body=b'{"phone_numbers": []}' * 10, drip=0.2))

    async def run() -> None:
        async with client(hostile, Limits(stall_timeout=5)) as api:
            api.set_deadline(1.0)
            await api.list_phone_numbers()

    started = time.monotonic()
    with pytest.raises(DeadlineExceeded) as caught:
        asyncio.run(run())
    assert time.monotonic() - started < 2.5
    assert str(caught.value).startswith(f"GET {V2}: the run deadline of 1 s passed")


@pytest.mark.parametrize("chunked", [False, True], ids=["content-length", "chunked"])
def test_a_body_over_the_size_cap_is_dropped(hostile: HostileServer, chunked: bool) -> None:
    # 2 MB against a 1 MB cap, declared (Content-Length) or not (chunked).
    hostile.on("GET", V2, Reply(body=b" " * 65536, repeat=32, chunked=chunked))

    async def run() -> None:
        async with client(hostile, Limits(max_response_bytes=1024 * 1024)) as api:
            await api.list_phone_numbers()

    with pytest.raises(ApiError) as caught:
        asyncio.run(run())
    message = str(caught.value)
    assert message.startswith(f"GET {V2} failed (HTTP 200): the response ")
    assert "1048576-byte limit" in message and "TELEPHONY_MAX_RESPONSE_BYTES" in message


def test_a_body_under_the_cap_is_read(hostile: HostileServer) -> None:
    hostile.on("GET", V2, Reply(body=b'{"phone_numbers": []}', chunked=True))

    async def run() -> int:
        async with client(hostile, Limits(max_response_bytes=64)) as api:
            return len(await api.list_phone_numbers())

    assert asyncio.run(run()) == 0


@pytest.mark.parametrize(
    ("path", "call"),
    [
        ("/v1/convai/phone-numbers/phnum_gone", "delete_phone_number"),
        ("/v1/convai/secrets/sec_gone", "delete_secret"),
    ],
)
def test_a_delete_of_something_already_gone_succeeds_on_the_first_attempt(
    hostile: HostileServer, path: str, call: str
) -> None:
    hostile.on("DELETE", path, json_reply({"detail": {"message": "Not Found"}}, 404))

    async def run() -> None:
        async with client(hostile) as api:
            await getattr(api, call)(path.rsplit("/", 1)[1])

    asyncio.run(run())
    assert len(hostile.calls("DELETE", path)) == 1


def test_a_deadline_past_before_a_retry_does_not_wait_for_it(hostile: HostileServer) -> None:
    def busy(seen: Seen) -> Reply:
        return Reply(503, b'{"detail": "busy"}', headers={"Retry-After": "30"})

    hostile.on("GET", "/v1/convai/settings", busy)

    async def run() -> None:
        async with client(hostile, retry=RetryPolicy(max_attempts=5, max_retry_after=60)) as api:
            api.set_deadline(1.0)
            await api.get_settings()

    started = time.monotonic()
    with pytest.raises(DeadlineExceeded, match="GET /v1/convai/settings: the run deadline of 1 s"):
        asyncio.run(run())
    assert time.monotonic() - started < 1.0
