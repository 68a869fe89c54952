"""Property: whatever a server answers, every client call returns or raises the tool's `ApiError`.

Random statuses, headers (content type, charset, content encoding) and bodies (random bytes,
random JSON, random JSON under the keys the client looks for) through `httpx.MockTransport`.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from provisioner.api import wire
from provisioner.api.client import ApiError, ElevenLabsClient, Limits, RetryPolicy

pytestmark = pytest.mark.slow

ONCE = RetryPolicy(max_attempts=2, base_delay=0.0, max_delay=0.0, max_retry_after=0.0)
KEYS = [
    "phone_numbers",
    "next_cursor",
    "has_more",
    "secrets",
    "secret_id",
    "phone_number_id",
    "phone_number",
    "label",
    "provider",
    "agent_id",
    "conversation_config",
    "detail",
    "message",
    "loc",
    "msg",
    "conversation_initiation_client_data_webhook",
    "url",
    "request_headers",
    "name",
]
scalars = st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20)
json_values = st.recursive(
    scalars | st.sampled_from(KEYS),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.sampled_from(KEYS) | st.text(max_size=8), inner),
    max_leaves=25,
)
bodies = (
    st.binary(max_size=300)
    | json_values.map(lambda v: json.dumps(v).encode())
    | st.dictionaries(st.sampled_from(KEYS), json_values).map(lambda v: json.dumps(v).encode())
    | st.integers(1, 5000).map(lambda depth: b"[" * depth + b"]" * depth)
)
headers = st.fixed_dictionaries(
    {},
    optional={
        "content-type": st.sampled_from(
            ["application/json", "text/html", "text/plain; charset=nope", "application/json; charset=utf-16"]
        ),
        "content-encoding": st.sampled_from(["gzip", "deflate", "br", "identity", "zstd", "bogus"]),
        "retry-after": st.sampled_from(["0", "-1", "nan", "soon"]),
    },
)
statuses = st.sampled_from([200, 201, 204, 206, 299, 400, 401, 404, 409, 422, 429, 500, 503])


class _Raw(httpx.AsyncByteStream):
    def __init__(self, body: bytes) -> None:
        self.body = body

    async def __aiter__(self) -> AsyncIterator[bytes]:
        yield self.body


CALLS: dict[str, Callable[[ElevenLabsClient], Awaitable[Any]]] = {
    "list numbers": lambda api: api.list_phone_numbers(),
    "get number": lambda api: api.get_phone_number("phnum_1"),
    "import number": lambda api: api.import_phone_number("+14155550100", {"phone_number": "+14155550100"}),
    "update number": lambda api: api.update_phone_number("phnum_1", {"label": "x"}),
    "delete number": lambda api: api.delete_phone_number("phnum_1"),
    "get agent": lambda api: api.get_agent("agent_1"),
    "get settings": lambda api: api.get_settings(),
    "update settings": lambda api: api.update_settings(
        wire.SettingsPatchRequest(conversation_initiation_client_data_webhook=None)
    ),
    "list secrets": lambda api: api.list_secrets(),
    "create secret": lambda api: api.create_secret("name", "value"),
    "delete secret": lambda api: api.delete_secret("sec_1"),
}


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    call=st.sampled_from(sorted(CALLS)),
    replies=st.lists(st.tuples(statuses, headers, bodies), min_size=1, max_size=4),
)
def test_any_answer_is_a_result_or_an_api_error(call: str, replies: list[tuple[int, dict[str, str], bytes]]) -> None:
    answered = 0

    def handler(request: httpx.Request) -> httpx.Response:
        nonlocal answered
        status, head, body = replies[answered % len(replies)]
        answered += 1
        return httpx.Response(status, headers=head, stream=_Raw(body))  # not decoded before the client reads it

    async def run() -> None:
        api = ElevenLabsClient(
            "http://api.test",
            "sk-property-key",
            transport=httpx.MockTransport(handler),
            retry=ONCE,
            limits=Limits(max_pages=5, max_response_bytes=100_000),
        )
        async with api:
            try:
                await CALLS[call](api)
            except ApiError as exc:
                assert "\n" not in str(exc)
                assert "sk-property-key" not in str(exc)

    asyncio.run(run())
