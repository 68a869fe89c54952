"""`/_emulator/*`: test controls outside the real API. No api key; never faulted or counted."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Request, Response
from pydantic import BaseModel, Field

from provisioner.emulator import render
from provisioner.emulator.control import state_of
from provisioner.emulator.errors import bad_request
from provisioner.emulator.faults import FaultPlan, FaultSpecError
from provisioner.emulator.responses import json_response
from provisioner.emulator.semantics import SemanticsError

router = APIRouter(prefix="/_emulator")


class ClockAdvance(BaseModel):
    seconds: Annotated[float, Field(ge=0)]


class FaultsBody(BaseModel):
    spec: str


class DropFieldsBody(BaseModel):
    paths: list[str]


@router.get("/health")
async def health() -> Response:
    return json_response({"ok": True})


@router.get("/stats")
async def stats(request: Request) -> Response:
    return json_response(state_of(request).stats())


@router.post("/reset")
async def reset(request: Request) -> Response:
    """Back to the build-time workspace: the seed (if any), no drop-fields, the initial faults,
    the startup semantics, an empty request log."""
    state = state_of(request)
    state.store.reset()
    state.requests.clear()
    if state.seed:
        state.store.apply_seed(state.seed)
    state.faults = FaultPlan.parse(state.initial_faults_spec) if state.initial_faults_spec else None
    state.reset_counters()
    return json_response({"ok": True})


@router.post("/clock/advance")
async def advance_clock(request: Request, body: ClockAdvance) -> Response:
    store = state_of(request).store
    now = store.clock.advance(body.seconds)
    store.save()
    return json_response({"now": now, "offset": store.clock.offset})


@router.get("/clock")
async def get_clock(request: Request) -> Response:
    clock = state_of(request).store.clock
    return json_response({"now": clock.now(), "offset": clock.offset})


@router.put("/faults")
async def set_faults(request: Request, body: Annotated[FaultsBody | str, Body()]) -> Response:
    """Body: `{"spec": "..."}` or a bare JSON string with the same spec as `--faults`."""
    spec = body.spec if isinstance(body, FaultsBody) else body
    try:
        plan = FaultPlan.parse(spec)
    except FaultSpecError as exc:
        raise bad_request("invalid_fault_spec", str(exc)) from exc
    state_of(request).faults = plan
    return json_response({"spec": plan.spec})


@router.delete("/faults")
async def clear_faults(request: Request) -> Response:
    state_of(request).faults = None
    return json_response({"spec": None})


@router.get("/drop-fields")
async def get_drop_fields(request: Request) -> Response:
    return json_response({"paths": state_of(request).store.drop_fields})


@router.put("/drop-fields")
async def set_drop_fields(request: Request, body: DropFieldsBody) -> Response:
    """Silently drop these dotted paths from agent PATCH and phone-number create/PATCH bodies."""
    state_of(request).store.drop_fields = list(body.paths)
    return json_response({"paths": body.paths})


@router.delete("/drop-fields")
async def clear_drop_fields(request: Request) -> Response:
    state_of(request).store.drop_fields = []
    return json_response({"paths": []})


@router.get("/semantics")
async def get_semantics(request: Request) -> Response:
    return json_response(state_of(request).store.semantics.as_dict())


@router.put("/semantics")
async def set_semantics(request: Request, body: Annotated[dict[str, Any], Body()]) -> Response:
    """Body: `{"name": "value", ...}` for some switches; the others are unchanged. All six back."""
    store = state_of(request).store
    try:
        semantics = store.semantics.with_values(body)
    except SemanticsError as exc:
        raise bad_request("invalid_semantics", str(exc)) from exc
    store.set_semantics(semantics)
    return json_response(semantics.as_dict())


@router.get("/requests")
async def get_requests(request: Request) -> Response:
    """The real-API requests since the last reset: `{method, path, query, body}`, oldest first,
    the last 5,000; JSON bodies only (else `body` is null), secret values "<redacted>"."""
    return json_response(list(state_of(request).requests))


@router.delete("/requests")
async def clear_requests(request: Request) -> Response:
    state_of(request).requests.clear()
    return json_response([])


@router.get("/state")
async def dump_state(request: Request) -> Response:
    """The workspace as clients see it (secret values are never stored, so never shown)."""
    store = state_of(request).store
    numbers = [store.render_number(n) for n in store.numbers.values()]
    out: dict[str, Any] = {
        "phone_numbers": numbers,
        "agents": [store.agent_json(a) for a in store.agents],
        "settings": store.settings,
        "secrets": [render.secret_stored(s) for s in store.secrets.values()],
        "batch_calls": [store.batch_json(b, detailed=True) for b in store.batches.values()],
        "conversations": list(store.conversations.values()),
        "drop_fields": store.drop_fields,
        "semantics": store.semantics.as_dict(),
        "clock": {"now": store.clock.now(), "offset": store.clock.offset},
    }
    return json_response(out)
