"""`provisioner.outbound` against a scripted API (httpx.MockTransport): the answers the emulator never
gives. A 200 with `success: false` is an error with the API's message; a call whose POST failed
ambiguously is reported, never sent twice; a submit whose POST failed ambiguously is found by name."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from provisioner import outbound
from provisioner.api.client import ApiError, ElevenLabsClient, RetryPolicy
from provisioner.manifest import Manifest

MANIFEST = Manifest.model_validate(
    {
        "version": 1,
        "agents": {"support": {"id": "agent_1"}},
        "phone_numbers": {
            "line": {
                "number": "+14155550100",
                "label": "Line",
                "provider": "twilio",
                "twilio": {"account_sid": "${SID}", "auth_token": "${TOKEN}"},
                "agent": "support",
            }
        },
    }
)
NUMBER = {"phone_number": "+14155550100", "label": "Line", "phone_number_id": "phnum_1", "provider": "twilio"}
Handler = Callable[[httpx.Request], httpx.Response]


def scripted(answer: Handler) -> tuple[ElevenLabsClient, list[httpx.Request]]:
    seen: list[httpx.Request] = []

    def handle(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        if request.url.path == "/v1/convai/v2/phone-numbers":
            return httpx.Response(200, json={"phone_numbers": [NUMBER], "next_cursor": None})
        return answer(request)

    retry = RetryPolicy(max_attempts=3, base_delay=0.0, max_delay=0.0)
    return ElevenLabsClient("http://api.test", "k", transport=httpx.MockTransport(handle), retry=retry), seen


def call(client: ElevenLabsClient) -> outbound.CallResult:
    async def run() -> outbound.CallResult:
        async with client:
            return await outbound.place_call(MANIFEST, client, "line", "+14155551234")

    return asyncio.run(run())


def calls_sent(seen: list[httpx.Request]) -> list[httpx.Request]:
    return [r for r in seen if r.method == "POST"]


def test_success_false_is_an_error_with_the_api_message() -> None:
    body = {
        "success": False,
        "message": "Twilio refused: unverified caller ID",
        "conversation_id": None,
        "callSid": None,
    }
    client, seen = scripted(lambda _: httpx.Response(200, json=body))
    with pytest.raises(outbound.OutboundError, match="to \\+14155551234 failed: Twilio refused: unverified caller ID"):
        call(client)
    assert len(calls_sent(seen)) == 1


def test_an_ambiguous_failure_is_not_retried() -> None:
    client, seen = scripted(lambda _: httpx.Response(503, json={"detail": "busy"}))
    with pytest.raises(ApiError, match="may or may not have gone through; not retried"):
        call(client)
    assert len(calls_sent(seen)) == 1


def test_a_refused_call_429_is_retried() -> None:
    answers = iter([httpx.Response(429, headers={"retry-after": "0"}, json={"detail": "slow down"})])

    def answer(_: httpx.Request) -> httpx.Response:
        ok = {"success": True, "message": "Success", "conversation_id": "conv_1", "callSid": "CA1"}
        return next(answers, httpx.Response(200, json=ok))

    client, seen = scripted(answer)
    result = call(client)
    assert (result.conversation_id, result.call_sid) == ("conv_1", "CA1") and len(calls_sent(seen)) == 2


BATCH = {
    "id": "btcal_1",
    "name": "reminders",
    "agent_id": "agent_1",
    "status": "pending",
    "created_at_unix": 4_000_000_000,
    "scheduled_time_unix": 4_000_000_000,
    "last_updated_at_unix": 4_000_000_000,
    "total_calls_scheduled": 1,
}


def test_a_submit_that_landed_is_found_not_sent_again() -> None:
    def answer(request: httpx.Request) -> httpx.Response:
        path = request.url.path
        if path.endswith("/submit"):
            return httpx.Response(502, text="bad gateway")
        if path.endswith("/workspace"):
            return httpx.Response(200, json={"batch_calls": [BATCH], "has_more": False})
        if path == "/v1/convai/batch-calling/btcal_1":
            return httpx.Response(200, json={**BATCH, "recipients": []})
        raise AssertionError(path)

    client, seen = scripted(answer)
    request = outbound.wire_calls.SubmitBatchRequest(
        call_name="reminders",
        agent_id="agent_1",
        agent_phone_number_id="phnum_1",
        recipients=[outbound.wire_calls.BatchRecipient(phone_number="+14155550101")],
    )

    async def run() -> Any:
        async with client:
            return await outbound.calls.submit_batch(client, request)

    assert asyncio.run(run()).id == "btcal_1"
    assert len([r for r in seen if r.url.path.endswith("/submit")]) == 1
    assert json.loads(seen[0].content)["call_name"] == "reminders"
