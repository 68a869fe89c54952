"""Outbound calls and batch calling: functions over an `ElevenLabsClient`.

A call and a batch submission are never sent twice blindly. A call cannot be looked up, so after
an ambiguous failure (5xx, timeout, dropped connection) it is reported, never retried: a second
attempt could ring the person twice. A batch submission is retried only after a look-up of the
workspace's batches found no batch of that name, agent and size created since the first attempt.
"""

from __future__ import annotations

import time
from typing import Any

import httpx

from provisioner.api import wire_calls
from provisioner.api.client import ApiError, ElevenLabsClient, _Ambiguous, parse

TWILIO_CALL = "/v1/convai/twilio/outbound-call"
SIP_CALL = "/v1/convai/sip-trunk/outbound-call"
BATCHES = "/v1/convai/batch-calling"
PAGE_LIMIT = 100


async def _post_once(client: ElevenLabsClient, path: str, body: dict[str, Any] | None, what: str) -> httpx.Response:
    """POST without retrying an ambiguous failure (a 429 is still retried: it was refused)."""
    try:
        return await client.request("POST", path, body=body, retry_ambiguous=False)
    except _Ambiguous as exc:
        where = f"HTTP {exc.status}" if exc.status is not None else "no response"
        raise ApiError(
            "POST", path, exc.status, f"{exc.message} ({where}; {what} may or may not have gone through; not retried)"
        ) from None


async def twilio_call(
    client: ElevenLabsClient, request: wire_calls.OutboundCallRequest
) -> wire_calls.TwilioCallResponse:
    response = await _post_once(client, TWILIO_CALL, request.body(), "the call")
    return parse(wire_calls.TwilioCallResponse, "POST", TWILIO_CALL, response)


async def sip_trunk_call(
    client: ElevenLabsClient, request: wire_calls.OutboundCallRequest
) -> wire_calls.SipCallResponse:
    response = await _post_once(client, SIP_CALL, request.body(), "the call")
    return parse(wire_calls.SipCallResponse, "POST", SIP_CALL, response)


async def list_batches(
    client: ElevenLabsClient, *, agent_id: str | None = None, limit: int | None = None
) -> list[wire_calls.BatchCallResponse]:
    """The workspace's batches, newest first, following `next_doc` pages (at most `limit`)."""
    found: list[wire_calls.BatchCallResponse] = []
    last_doc: str | None = None
    path = f"{BATCHES}/workspace"
    while True:
        params: dict[str, Any] = {"limit": PAGE_LIMIT}
        if agent_id:
            params["agent_id"] = agent_id
        if last_doc:
            params["last_doc"] = last_doc
        page = parse(wire_calls.BatchCallsPage, "GET", path, await client.request("GET", path, params=params))
        found.extend(page.batch_calls)
        if limit is not None and len(found) >= limit:
            return found[:limit]
        if not page.next_doc or not page.has_more or not page.batch_calls:
            return found
        last_doc = page.next_doc


async def submit_batch(
    client: ElevenLabsClient, request: wire_calls.SubmitBatchRequest
) -> wire_calls.BatchCallResponse:
    """Submit a batch, never twice: after an ambiguous failure, a batch with the same name, agent
    and recipient count created since this call started is taken as the one that landed."""
    path = f"{BATCHES}/submit"
    started = int(time.time()) - 120  # the API's clock may run behind ours

    async def lookup() -> str | None:
        for batch in await list_batches(client, agent_id=request.agent_id, limit=PAGE_LIMIT):
            if (
                batch.name == request.call_name
                and batch.total_calls_scheduled == len(request.recipients)
                and batch.created_at_unix >= started
            ):
                return batch.id
        return None

    existing, response = await client.create_idempotent(path, request.body(), lookup)
    if existing is not None:
        return await get_batch(client, existing)
    assert response is not None
    return parse(wire_calls.BatchCallResponse, "POST", path, response)


async def get_batch(client: ElevenLabsClient, batch_id: str) -> wire_calls.BatchCallDetailedResponse:
    path = f"{BATCHES}/{batch_id}"
    return parse(wire_calls.BatchCallDetailedResponse, "GET", path, await client.request("GET", path))


async def cancel_batch(client: ElevenLabsClient, batch_id: str) -> wire_calls.BatchCallResponse:
    """Cancelling twice is harmless, so this one is retried like a read."""
    path = f"{BATCHES}/{batch_id}/cancel"
    return parse(wire_calls.BatchCallResponse, "POST", path, await client.request("POST", path))


async def retry_batch(client: ElevenLabsClient, batch_id: str) -> wire_calls.BatchCallResponse:
    path = f"{BATCHES}/{batch_id}/retry"
    return parse(wire_calls.BatchCallResponse, "POST", path, await _post_once(client, path, None, "the retry"))
