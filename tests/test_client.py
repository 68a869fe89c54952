"""The API client: retries, Retry-After, bounded concurrency, never-blind creates, errors, key hygiene."""

from __future__ import annotations

import asyncio
import json
import logging
from typing import Any

import httpx
import pytest

from provisioner.api.client import ApiError, ElevenLabsClient, ResponseShapeError, RetryPolicy

KEY = "sk-super-secret-key"
FAST = RetryPolicy(max_attempts=4, base_delay=0.0, max_delay=0.0, max_retry_after=5.0)


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
def sleeps(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    recorded: list[float] = []
    real_sleep = asyncio.sleep

    async def fake_sleep(delay: float) -> None:
        recorded.append(delay)
        await real_sleep(0)

    monkeypatch.setattr("provisioner.api.client.asyncio.sleep", fake_sleep)
    return recorded


def client(handler: Any, **kwargs: Any) -> ElevenLabsClient:
    return ElevenLabsClient("http://api.test", KEY, transport=httpx.MockTransport(handler), retry=FAST, **kwargs)


@pytest.mark.anyio
async def test_429_honours_retry_after(sleeps: list[float]) -> None:
    calls = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(request)
        if len(calls) == 1:
            return httpx.Response(429, headers={"Retry-After": "2"}, json={"detail": {"message": "slow down"}})
        return httpx.Response(200, json={"conversation_initiation_client_data_webhook": None})

    async with client(handler) as api:
        assert (await api.get_settings()).conversation_initiation_client_data_webhook is None
    assert len(calls) == 2 and sleeps == [2.0]
    assert calls[0].headers["xi-api-key"] == KEY


@pytest.mark.anyio
async def test_retry_after_is_capped(sleeps: list[float]) -> None:
    responses = [httpx.Response(429, headers={"Retry-After": "3600"}), httpx.Response(200, json={})]
    async with client(lambda r: responses.pop(0)) as api:
        await api.get_settings()
    assert sleeps == [5.0]


@pytest.mark.anyio
async def test_5xx_retried_then_gives_up_naming_the_call(sleeps: list[float]) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(503, json={"detail": {"message": "system busy", "status": "system_busy"}})

    async with client(handler) as api:
        with pytest.raises(ApiError) as caught:
            await api.get_agent("agent_1")
    assert len(sleeps) == FAST.max_attempts - 1
    assert str(caught.value) == "GET /v1/convai/agents/agent_1 failed (HTTP 503): system busy"


@pytest.mark.anyio
async def test_422_is_not_retried_and_reports_the_fields(sleeps: list[float]) -> None:
    body = {"detail": [{"type": "missing", "loc": ["body", "label"], "msg": "Field required", "input": {}}]}
    async with client(lambda r: httpx.Response(422, json=body)) as api:
        with pytest.raises(ApiError) as caught:
            await api.update_phone_number("phnum_1", {"label": None})
    assert sleeps == [] and caught.value.status == 422
    assert "body.label: Field required" in caught.value.message


@pytest.mark.anyio
async def test_connection_errors_are_retried(sleeps: list[float]) -> None:
    calls = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(1)
        if len(calls) < 3:
            raise httpx.RemoteProtocolError("Server disconnected", request=request)
        return httpx.Response(200, json={"agent_id": "agent_1"})

    async with client(handler) as api:
        assert (await api.get_agent("agent_1")).agent_id == "agent_1"
    assert len(calls) == 3


class FakeNumbers:
    """A tiny phone-number store whose POST can commit and then drop the connection."""

    def __init__(self, drop_after_commit: int = 0, drop_before_commit: int = 0) -> None:
        self.numbers: list[dict[str, Any]] = []
        self.drop_after = drop_after_commit
        self.drop_before = drop_before_commit
        self.posts = 0

    def __call__(self, request: httpx.Request) -> httpx.Response:
        if request.method == "POST":
            self.posts += 1
            if self.drop_before:
                self.drop_before -= 1
                raise httpx.RemoteProtocolError("dropped", request=request)
            body = json.loads(request.content)
            number = {
                "phone_number": body["phone_number"],
                "label": body["label"],
                "phone_number_id": f"phnum_{len(self.numbers)}",
            }
            self.numbers.append(number)
            if self.drop_after:
                self.drop_after -= 1
                raise httpx.RemoteProtocolError("dropped", request=request)
            return httpx.Response(200, json={"phone_number_id": number["phone_number_id"]})
        return httpx.Response(200, json={"phone_numbers": self.numbers, "next_cursor": None, "has_more": False})


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("drop", "posts"),
    [
        ("drop_after_commit", 1),  # the write landed: the lookup finds it, no second POST
        ("drop_before_commit", 2),  # it did not: the lookup finds nothing, the POST is sent again
    ],
)
async def test_a_create_after_a_dropped_connection_never_duplicates(sleeps: list[float], drop: str, posts: int) -> None:
    fake = FakeNumbers(**{drop: 1})
    async with client(fake) as api:
        number_id = await api.import_phone_number("+14155550100", {"phone_number": "+14155550100", "label": "x"})
    assert fake.posts == posts and len(fake.numbers) == 1 and number_id == "phnum_0"


@pytest.mark.anyio
async def test_list_follows_v2_cursor_pages() -> None:
    pages = {
        None: {"phone_numbers": [number("+1")], "next_cursor": "c2", "has_more": True},
        "c2": {"phone_numbers": [number("+2")], "next_cursor": None, "has_more": False},
    }

    def handler(request: httpx.Request) -> httpx.Response:
        assert request.url.path == "/v1/convai/v2/phone-numbers"
        return httpx.Response(200, json=pages[request.url.params.get("cursor")])

    async with client(handler) as api:
        assert [n.phone_number for n in await api.list_phone_numbers()] == ["+1", "+2"]


@pytest.mark.anyio
async def test_concurrency_is_bounded() -> None:
    in_flight = peak = 0

    async def handler(request: httpx.Request) -> httpx.Response:
        nonlocal in_flight, peak
        in_flight += 1
        peak = max(peak, in_flight)
        await asyncio.sleep(0.01)
        in_flight -= 1
        return httpx.Response(200, json={"agent_id": "agent_x"})

    api = ElevenLabsClient("http://api.test", KEY, transport=httpx.MockTransport(handler), parallelism=3)
    async with api:
        await asyncio.gather(*(api.get_agent(f"agent_{i}") for i in range(20)))
    assert peak == 3


@pytest.mark.anyio
async def test_the_key_is_never_logged(caplog: pytest.LogCaptureFixture, sleeps: list[float]) -> None:
    caplog.set_level(logging.DEBUG)
    responses = [httpx.Response(500), httpx.Response(401, json={"detail": {"message": "Invalid API key"}})]
    async with client(lambda r: responses.pop(0)) as api:
        with pytest.raises(ApiError) as caught:
            await api.get_settings()
    assert KEY not in caplog.text and KEY not in str(caught.value)
    assert "retry" in caplog.text


@pytest.mark.anyio
async def test_list_falls_back_to_v1_without_the_v2_endpoint() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/v1/convai/v2/phone-numbers":
            return httpx.Response(404, json={"detail": {"message": "Not Found"}})
        return httpx.Response(200, json=[number("+1")])

    async with client(handler) as api:
        assert [n.phone_number for n in await api.list_phone_numbers()] == ["+1"]


@pytest.mark.anyio
async def test_list_asks_for_the_largest_page_size_and_retries_a_refused_one_smaller() -> None:
    asked: list[tuple[str, str | None]] = []

    def handler(request: httpx.Request) -> httpx.Response:
        size = request.url.params.get("page_size")
        asked.append((request.url.path, size))
        if size == "100":
            return httpx.Response(422, json={"detail": [{"loc": ["query", "page_size"], "msg": "le 50"}]})
        return httpx.Response(200, json={"phone_numbers": [number("+1")], "next_cursor": None, "has_more": False})

    async with client(handler) as api:
        assert [n.phone_number for n in await api.list_phone_numbers()] == ["+1"]
        assert api.number_page_size == 30
        await api.list_phone_numbers()  # the size that worked is kept: no second 422
    v2 = "/v1/convai/v2/phone-numbers"
    assert asked == [(v2, "100"), (v2, "30"), (v2, "30")]


@pytest.mark.anyio
async def test_list_falls_back_to_v1_when_every_page_size_is_refused() -> None:
    asked: list[str | None] = []

    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/v1/convai/v2/phone-numbers":
            asked.append(request.url.params.get("page_size"))
            return httpx.Response(422, json={"detail": "no"})
        return httpx.Response(200, json=[number("+1")])

    async with client(handler) as api:
        assert [n.phone_number for n in await api.list_phone_numbers()] == ["+1"]
    assert asked == ["100", "30"]


def number(e164: str) -> dict[str, Any]:
    return {"phone_number": e164, "label": "L", "phone_number_id": f"phnum_{e164[1:]}", "provider": "twilio"}


@pytest.mark.anyio
@pytest.mark.parametrize(
    "body",
    [b"<html>captive portal</html>", b"", b"[]", b"null", b'"text"', b'{"phone_numbers": [{"label": 3}]}'],
)
async def test_a_2xx_of_the_wrong_shape_is_one_error_naming_the_call(body: bytes) -> None:
    async with client(lambda r: httpx.Response(200, content=body)) as api:
        with pytest.raises(ResponseShapeError) as caught:
            await api.list_phone_numbers()
    assert str(caught.value).startswith("GET /v1/convai/v2/phone-numbers failed (HTTP 200): ")


NOW = 1_800_000_000.0


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ({"retry-after-ms": "1500"}, 1.5),
        ({"retry-after": "3"}, 3.0),
        ({"retry-after": "Fri, 15 Jan 2027 08:00:10 GMT"}, None),  # compared with NOW below
        ({"x-ratelimit-reset": str(int(NOW) + 7)}, 7.0),
        ({"retry-after-ms": "soon", "retry-after": "2"}, 2.0),  # a bad header is skipped
        ({"retry-after": "tomorrow-ish"}, None),
        ({"retry-after": "nan"}, None),
        ({"retry-after": "-5"}, None),
        ({"x-ratelimit-reset": "garbage"}, None),
        ({}, None),
    ],
)
def test_retry_delay_reads_every_header_and_ignores_garbage(headers: dict[str, str], expected: float | None) -> None:
    from provisioner.api.client import retry_delay

    found = retry_delay(headers, NOW)
    if "GMT" in headers.get("retry-after", ""):
        import email.utils

        when = email.utils.parsedate_to_datetime(headers["retry-after"]).timestamp()
        assert found == max(0.0, when - NOW)
    else:
        assert found == expected


@pytest.mark.anyio
async def test_408_is_retried_like_a_5xx(sleeps: list[float]) -> None:
    responses = [httpx.Response(408), httpx.Response(200, json={"agent_id": "agent_1"})]
    async with client(lambda r: responses.pop(0)) as api:
        assert (await api.get_agent("agent_1")).agent_id == "agent_1"
    assert len(sleeps) == 1


@pytest.mark.anyio
async def test_a_garbage_retry_header_is_never_fatal(sleeps: list[float]) -> None:
    responses = [
        httpx.Response(429, headers={"retry-after": "Thu, 99 Foo 20x"}),
        httpx.Response(200, json={"agent_id": "agent_1"}),
    ]
    async with client(lambda r: responses.pop(0)) as api:
        assert (await api.get_agent("agent_1")).agent_id == "agent_1"


@pytest.mark.anyio
async def test_the_v2_list_follows_next_cursor_when_has_more_is_omitted() -> None:
    pages = {
        None: {"phone_numbers": [number("+1")], "next_cursor": "c2"},
        "c2": {"phone_numbers": [number("+2")], "next_cursor": None},
    }

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json=pages[request.url.params.get("cursor")])

    async with client(handler) as api:
        assert [n.phone_number for n in await api.list_phone_numbers()] == ["+1", "+2"]


@pytest.mark.anyio
@pytest.mark.parametrize("call", ["delete_phone_number", "delete_secret"])
async def test_a_delete_answered_404_is_already_done_on_the_first_attempt(sleeps: list[float], call: str) -> None:
    calls = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(request)
        return httpx.Response(404, json={"detail": {"message": "Not Found"}})

    async with client(handler) as api:
        await getattr(api, call)("gone_1")
    assert len(calls) == 1 and sleeps == []


@pytest.mark.anyio
async def test_a_404_on_a_read_is_still_an_error() -> None:
    async with client(lambda r: httpx.Response(404, json={"detail": {"message": "Not Found"}})) as api:
        with pytest.raises(ApiError, match=r"GET /v1/convai/agents/agent_1 failed \(HTTP 404\): Not Found"):
            await api.get_agent("agent_1")


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("body", "shown"),
    [
        ({"detail": [{"loc": 7, "msg": "bad"}]}, "7: bad"),  # a hostile 422: loc is not a list
        ({"detail": "line one\nline two"}, "line one line two"),
        ({"detail": {"message": "x" * 1000}}, "x" * 297 + "..."),
    ],
)
async def test_an_error_body_of_any_shape_is_one_short_line(body: dict[str, Any], shown: str) -> None:
    async with client(lambda r: httpx.Response(422, json=body)) as api:
        with pytest.raises(ApiError) as caught:
            await api.get_settings()
    assert str(caught.value) == f"GET /v1/convai/settings failed (HTTP 422): {shown}"


@pytest.mark.anyio
async def test_a_body_that_does_not_decode_is_an_api_error() -> None:
    class Raw(httpx.AsyncByteStream):
        async def __aiter__(self) -> Any:
            yield b"not gzip at all"

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, headers={"content-encoding": "gzip"}, stream=Raw())

    async with client(handler) as api:
        with pytest.raises(ApiError, match="the body is not valid 'gzip' data"):
            await api.get_settings()


@pytest.mark.anyio
async def test_a_repeated_cursor_is_an_error_not_a_loop() -> None:
    pages = 0

    def handler(request: httpx.Request) -> httpx.Response:
        nonlocal pages
        pages += 1
        return httpx.Response(200, json={"phone_numbers": [number(f"+{pages}")], "next_cursor": "stuck"})

    async with client(handler) as api:
        with pytest.raises(ApiError, match="paging makes no progress: page 3 would repeat cursor 'stuck'"):
            await api.list_phone_numbers()
    assert pages == 2


@pytest.mark.anyio
@pytest.mark.parametrize("landed", [True, False])
async def test_a_create_whose_2xx_is_unreadable_looks_up_what_it_created(landed: bool) -> None:
    created: list[dict[str, str]] = []

    def handler(request: httpx.Request) -> httpx.Response:
        if request.method == "POST":
            if landed:
                created.append({"secret_id": "sec_9", "name": "mine"})
            return httpx.Response(201, content=b"<html>ok</html>", headers={"content-type": "text/html"})
        return httpx.Response(200, json={"secrets": created})

    async with client(handler) as api:
        if landed:
            assert await api.create_secret("mine", "value-1") == "sec_9"
        else:
            with pytest.raises(ResponseShapeError, match=r"POST /v1/convai/secrets failed \(HTTP 201\).*may have been"):
                await api.create_secret("mine", "value-1")


@pytest.mark.anyio
async def test_observe_never_queues_a_number_page_behind_the_agent_reads() -> None:
    """The pages are a chain: each starts as soon as the one before it ends, agents or not."""
    from provisioner.api.live import Needs, observe

    waited: list[float] = []
    ended: dict[str, float] = {}

    async def handler(request: httpx.Request) -> httpx.Response:
        loop = asyncio.get_running_loop()
        if request.url.path == "/v1/convai/v2/phone-numbers":
            cursor = request.url.params.get("cursor")
            if cursor:
                waited.append(loop.time() - ended[cursor])
            await asyncio.sleep(0.01)
            page = int(cursor or 0) + 1
            ended[str(page)] = loop.time()
            more = page < 5
            body = {"phone_numbers": [number(f"+{page}")], "next_cursor": str(page) if more else None}
            return httpx.Response(200, json={**body, "has_more": more})
        await asyncio.sleep(0.01)
        return httpx.Response(200, json={"agent_id": request.url.path.rsplit("/", 1)[1]})

    needs = Needs(agents=tuple((f"a{i}", f"agent_{i}") for i in range(40)))
    async with client(handler, parallelism=4) as api:
        live = await observe(api, needs)
    assert len(live.numbers) == 5 and len(waited) == 4
    assert max(waited) < 0.05, waited  # not ~0.01 x (40 agents / 4 slots): 0.12 s when they queue


@pytest.mark.anyio
async def test_the_agent_list_must_make_progress() -> None:
    page = {"agents": [{"agent_id": "agent_1", "name": "A"}], "next_cursor": "same", "has_more": True}
    async with client(lambda r: httpx.Response(200, json=page)) as api:
        with pytest.raises(ApiError, match="paging makes no progress"):
            await api.list_agents()
