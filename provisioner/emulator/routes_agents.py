"""Agents: create, get (with assigned numbers), list (cursor pages), PATCH (deep merge), delete."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request, Response
from fastapi.exceptions import RequestValidationError

from provisioner.emulator import agent_schema, render
from provisioner.emulator.control import authed_store, state_of
from provisioner.emulator.models import CreateAgentRequest, PatchAgentRequest, agent_patch_dict
from provisioner.emulator.responses import json_response
from provisioner.emulator.routes_numbers import page
from provisioner.emulator.store import PLACEHOLDERS_PATH, null_placeholders

router = APIRouter()


def check_placeholders(request: Request, body: dict[str, Any]) -> None:
    """`placeholder_null=reject`: a null placeholder value is a 422, as for any other bad value."""
    if state_of(request).store.semantics.placeholder_null != "reject":
        return
    names = null_placeholders(body)
    if names:
        raise RequestValidationError(
            [
                {
                    "type": "string_type",
                    "loc": ("body", *PLACEHOLDERS_PATH, name),
                    "msg": "Input should be a valid string, number, integer or boolean",
                    "input": None,
                }
                for name in names
            ]
        )


@router.post("/v1/convai/agents/create")
async def create_agent(request: Request, body: CreateAgentRequest) -> Response:
    patch = agent_patch_dict(body)
    agent_schema.validate(patch)  # the whole config checked against the spec: 422 before auth
    check_placeholders(request, patch)
    store = authed_store(request)
    return json_response({"agent_id": store.create_agent(patch)})


@router.get("/v1/convai/agents")
async def list_agents(
    request: Request,
    page_size: Annotated[int, Query(ge=1, le=100)] = 30,
    search: str | None = None,
    archived: bool = False,
    sort_direction: Literal["asc", "desc"] = "desc",
    sort_by: Literal["name", "created_at", "call_count_7d", "updated_at"] | None = None,
    cursor: str | None = None,
) -> Response:
    store = authed_store(request)
    agents = store.list_agents(search=search, sort_by=sort_by or "created_at", descending=sort_direction == "desc")
    agents = [a for a in agents if bool(a["platform_settings"].get("archived", False)) == archived]
    chunk, next_cursor, has_more = page(agents, cursor, page_size)
    return json_response(
        {"agents": [render.agent_summary(a) for a in chunk], "next_cursor": next_cursor, "has_more": has_more}
    )


@router.get("/v1/convai/agents/{agent_id}")
async def get_agent(request: Request, agent_id: str) -> Response:
    store = authed_store(request)
    return json_response(store.agent_json(agent_id))


@router.patch("/v1/convai/agents/{agent_id}")
async def update_agent(request: Request, agent_id: str, body: PatchAgentRequest) -> Response:
    patch = agent_patch_dict(body)
    agent_schema.validate(patch)  # the whole config checked against the spec: 422 before auth
    check_placeholders(request, patch)
    store = authed_store(request)
    store.patch_agent(agent_id, patch)
    return json_response(store.agent_json(agent_id))


@router.delete("/v1/convai/agents/{agent_id}")
async def delete_agent(request: Request, agent_id: str) -> Response:
    store = authed_store(request)
    store.delete_agent(agent_id)
    return json_response({})
