"""Phone numbers: import, v1 list (bare array), v2 list (cursor pages), get, PATCH, delete, SIP log."""

from __future__ import annotations

import base64
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Body, Query, Request, Response

from provisioner.emulator.control import authed_store
from provisioner.emulator.models import CreatePhoneNumberRequest, UpdatePhoneNumberRequest
from provisioner.emulator.persistence import dumps
from provisioner.emulator.responses import json_bytes, json_response

router = APIRouter()
Provider = Literal["twilio", "sip_trunk", "exotel"]


@router.post("/v1/convai/phone-numbers")
async def create_phone_number(request: Request, body: Annotated[CreatePhoneNumberRequest, Body()]) -> Response:
    store = authed_store(request)
    return json_response({"phone_number_id": store.create_number(body)})


@router.get("/v1/convai/phone-numbers")
async def list_phone_numbers(
    request: Request,
    provider: Provider | None = None,
    agent_id: str | None = None,
    branch_id: str | None = None,
) -> Response:
    store = authed_store(request)
    return json_bytes(store.list_numbers_json(provider=provider, agent_id=agent_id, branch_id=branch_id))


def encode_cursor(offset: int) -> str:
    return base64.urlsafe_b64encode(f"o:{offset}".encode()).decode().rstrip("=")


def decode_cursor(cursor: str | None) -> int:
    """Cursors are opaque to clients; a malformed one restarts from the beginning."""
    if not cursor:
        return 0
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        return max(0, int(raw.removeprefix("o:")))
    except ValueError:
        return 0


def page(items: list[Any], cursor: str | None, page_size: int) -> tuple[list[Any], str | None, bool]:
    start = decode_cursor(cursor)
    chunk = items[start : start + page_size]
    has_more = start + page_size < len(items)
    return chunk, encode_cursor(start + page_size) if has_more else None, has_more


@router.get("/v1/convai/v2/phone-numbers")
async def list_phone_numbers_v2(
    request: Request,
    page_size: Annotated[int, Query(ge=1, le=100)] = 30,
    search: str | None = None,
    label: str | None = None,
    phone_number: str | None = None,
    provider: Provider | None = None,
    supports_outbound: bool | None = None,
    agent_id: str | None = None,
    branch_id: str | None = None,
    sort_by: Literal["label", "phone_number"] | None = None,
    sort_direction: Literal["asc", "desc"] = "asc",
    cursor: str | None = None,
) -> Response:
    store = authed_store(request)
    numbers = store.filter_numbers(provider=provider, agent_id=agent_id, branch_id=branch_id)
    if search:
        needle = search.lower()
        numbers = [
            n
            for n in numbers
            if n["phone_number_id"] == search or needle in n["label"].lower() or needle in n["phone_number"].lower()
        ]
    if label:
        numbers = [n for n in numbers if label.lower() in n["label"].lower()]
    if phone_number:
        numbers = [n for n in numbers if phone_number.lower() in n["phone_number"].lower()]
    if supports_outbound is not None:
        numbers = [n for n in numbers if n["supports_outbound"] == supports_outbound]
    key = sort_by or "created_at"
    numbers.sort(key=lambda n: (n[key], n["phone_number_id"]), reverse=sort_direction == "desc")
    chunk, next_cursor, has_more = page(numbers, cursor, page_size)
    body = b",".join(store.number_json(n["phone_number_id"]) for n in chunk)
    tail_fields: dict[str, Any] = {"next_cursor": next_cursor, "has_more": has_more}
    if store.semantics.list_has_more == "omitted":
        del tail_fields["has_more"]  # only `next_cursor` (null on the last page) tells the client
    tail = dumps(tail_fields)  # '{"next_cursor":...}'
    return json_bytes(b'{"phone_numbers":[' + body + b"]," + tail[1:])


@router.get("/v1/convai/phone-numbers/{phone_number_id}")
async def get_phone_number(request: Request, phone_number_id: str) -> Response:
    store = authed_store(request)
    return json_bytes(store.number_json(phone_number_id))


@router.patch("/v1/convai/phone-numbers/{phone_number_id}")
async def update_phone_number(request: Request, phone_number_id: str, body: UpdatePhoneNumberRequest) -> Response:
    store = authed_store(request)
    # Absent keys are kept and explicit nulls clear: only the keys the client sent are applied;
    # a trunk config sent is taken whole, with its defaults materialised.
    patch: dict[str, Any] = {}
    for key in body.model_fields_set:
        value = getattr(body, key)
        patch[key] = value.model_dump(mode="json") if hasattr(value, "model_dump") else value
    store.update_number(phone_number_id, patch)
    return json_bytes(store.number_json(phone_number_id))


@router.delete("/v1/convai/phone-numbers/{phone_number_id}")
async def delete_phone_number(request: Request, phone_number_id: str) -> Response:
    store = authed_store(request)
    store.delete_number(phone_number_id)
    return json_response({})  # 200 with a JSON body, not 204


@router.get("/v1/convai/phone-numbers/{phone_number_id}/sip-messages")
async def sip_messages(
    request: Request,
    phone_number_id: str,
    page_size: Annotated[int, Query(ge=1, le=20)] = 20,
    cursor: str | None = None,
) -> Response:
    store = authed_store(request)
    store.get_number_record(phone_number_id)
    # No SIP signalling happens here, so the log is always empty.
    return json_response({"sip_messages": [], "next_cursor": None, "has_more": False})
