"""Outbound calls (Twilio, SIP trunk) and batch calling."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request, Response

from provisioner.emulator.control import authed_store
from provisioner.emulator.errors import bad_request
from provisioner.emulator.ids import call_sid, new_id
from provisioner.emulator.models import SipTrunkOutboundCallRequest, SubmitBatchCallRequest, TwilioOutboundCallRequest
from provisioner.emulator.responses import json_response, no_content
from provisioner.emulator.store import Store

router = APIRouter()


def _check_call(store: Store, agent_id: str, phone_number_id: str, provider: str) -> dict[str, object]:
    store.get_agent_record(agent_id)
    number = store.get_number_record(phone_number_id)
    if number["provider"] != provider:
        raise bad_request(
            "invalid_phone_number_provider",
            f"Phone number {phone_number_id} is a {number['provider']} number; this endpoint needs {provider}.",
        )
    return number


@router.post("/v1/convai/twilio/outbound-call")
async def twilio_outbound_call(request: Request, body: TwilioOutboundCallRequest) -> Response:
    store = authed_store(request)
    _check_call(store, body.agent_id, body.agent_phone_number_id, "twilio")
    conversation_id = store.record_conversation(body.agent_id, body.agent_phone_number_id, body.to_number, "twilio")
    # The real response uses camelCase `callSid`; the SDK ignores `call_sid`.
    return json_response(
        {"success": True, "message": "Success", "conversation_id": conversation_id, "callSid": call_sid()}
    )


@router.post("/v1/convai/sip-trunk/outbound-call")
async def sip_trunk_outbound_call(request: Request, body: SipTrunkOutboundCallRequest) -> Response:
    store = authed_store(request)
    number = _check_call(store, body.agent_id, body.agent_phone_number_id, "sip_trunk")
    if not number.get("outbound_trunk"):
        raise bad_request(
            "outbound_trunk_not_configured",
            f"Phone number {body.agent_phone_number_id} has no outbound trunk configured.",
        )
    conversation_id = store.record_conversation(body.agent_id, body.agent_phone_number_id, body.to_number, "sip_trunk")
    sip_call_id = new_id("sipcall")
    return json_response(
        {"success": True, "message": "Success", "conversation_id": conversation_id, "sip_call_id": sip_call_id}
    )


@router.post("/v1/convai/batch-calling/submit")
async def submit_batch(request: Request, body: SubmitBatchCallRequest) -> Response:
    store = authed_store(request)
    return json_response(store.batch_json(store.submit_batch(body), detailed=False))


@router.get("/v1/convai/batch-calling/workspace")
async def list_batches(
    request: Request,
    limit: Annotated[int, Query(ge=1)] = 100,
    last_doc: str | None = None,
    agent_id: str | None = None,
) -> Response:
    store = authed_store(request)
    items = sorted(store.batches.values(), key=lambda b: (b["created_at"], b["id"]), reverse=True)
    if agent_id:
        items = [b for b in items if b["agent_id"] == agent_id]
    if last_doc:
        ids = [b["id"] for b in items]
        items = items[ids.index(last_doc) + 1 :] if last_doc in ids else []
    chunk, has_more = items[:limit], len(items) > limit
    return json_response(
        {
            "batch_calls": [store.batch_json(b, detailed=False) for b in chunk],
            "next_doc": chunk[-1]["id"] if has_more else None,
            "has_more": has_more,
        }
    )


@router.get("/v1/convai/batch-calling/{batch_id}")
async def get_batch(request: Request, batch_id: str) -> Response:
    store = authed_store(request)
    return json_response(store.batch_json(store.get_batch_record(batch_id), detailed=True))


@router.post("/v1/convai/batch-calling/{batch_id}/cancel")
async def cancel_batch(request: Request, batch_id: str) -> Response:
    store = authed_store(request)
    return json_response(store.batch_json(store.cancel_batch(batch_id), detailed=False))


@router.post("/v1/convai/batch-calling/{batch_id}/retry")
async def retry_batch(request: Request, batch_id: str) -> Response:
    store = authed_store(request)
    return json_response(store.batch_json(store.retry_batch(batch_id), detailed=False))


@router.delete("/v1/convai/batch-calling/{batch_id}")
async def delete_batch(request: Request, batch_id: str) -> Response:
    store = authed_store(request)
    store.delete_batch(batch_id)
    return no_content()
