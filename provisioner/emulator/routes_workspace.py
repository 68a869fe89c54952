"""Workspace ConvAI settings (the pre-call webhook lives here) and workspace secrets."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request, Response

from provisioner.emulator import render
from provisioner.emulator.control import authed_store
from provisioner.emulator.models import (
    PatchConvAISettingsRequest,
    PatchWorkspaceSecretRequest,
    PostWorkspaceSecretRequest,
)
from provisioner.emulator.responses import json_response, no_content
from provisioner.emulator.routes_numbers import page

router = APIRouter()


@router.get("/v1/convai/settings")
async def get_settings(request: Request) -> Response:
    store = authed_store(request)
    return json_response(store.settings)


@router.patch("/v1/convai/settings")
async def update_settings(request: Request, body: PatchConvAISettingsRequest) -> Response:
    store = authed_store(request)
    store.patch_settings(body)
    return json_response(store.settings)


@router.get("/v1/convai/secrets")
async def list_secrets(
    request: Request,
    page_size: Annotated[int, Query(ge=1, le=100)] | None = None,
    dependency_limit: Annotated[int, Query(ge=1, le=100)] | None = None,
    search: str | None = None,
    cursor: str | None = None,
) -> Response:
    store = authed_store(request)
    records = sorted(store.secrets.values(), key=lambda s: (s["name"], s["secret_id"]))
    if search:
        records = [s for s in records if s["name"].startswith(search)]
    next_cursor = None
    if page_size is not None:  # omitted: everything in one response
        records, next_cursor, _ = page(records, cursor, page_size)
    items = [{**render.secret_stored(s), "used_by": store.secret_used_by(s["secret_id"])} for s in records]
    return json_response({"secrets": items, "next_cursor": next_cursor})


@router.post("/v1/convai/secrets")
async def create_secret(request: Request, body: PostWorkspaceSecretRequest) -> Response:
    store = authed_store(request)
    return json_response(render.secret_stored(store.create_secret(body.name, body.value)))


@router.get("/v1/convai/secrets/{secret_id}")
async def get_secret(request: Request, secret_id: str) -> Response:
    store = authed_store(request)
    record = store.get_secret_record(secret_id)
    return json_response({**render.secret_stored(record), "used_by": store.secret_used_by(secret_id)})


@router.patch("/v1/convai/secrets/{secret_id}")
async def update_secret(request: Request, secret_id: str, body: PatchWorkspaceSecretRequest) -> Response:
    store = authed_store(request)
    return json_response(render.secret_stored(store.update_secret(secret_id, body.name, body.value)))


@router.delete("/v1/convai/secrets/{secret_id}")
async def delete_secret(request: Request, secret_id: str) -> Response:
    store = authed_store(request)
    store.delete_secret(secret_id)
    return no_content()


@router.get("/v1/convai/secrets/{secret_id}/dependencies/{resource_type}")
async def secret_dependencies(
    request: Request,
    secret_id: str,
    resource_type: Literal["tools", "agents", "phone_numbers"],
    page_size: Annotated[int, Query(ge=1, le=100)] = 20,
    cursor: str | None = None,
) -> Response:
    store = authed_store(request)
    store.get_secret_record(secret_id)
    items = store.secret_used_by(secret_id)[resource_type]
    chunk, next_cursor, _ = page(items, cursor, page_size)
    return json_response({"dependencies": chunk, "next_cursor": next_cursor})
