"""Pre-serialised JSON responses: the hot GET paths skip FastAPI's response-model encoding."""

from __future__ import annotations

from typing import Any

from fastapi.responses import Response

from provisioner.emulator.persistence import dumps


def json_bytes(body: bytes, status_code: int = 200) -> Response:
    return Response(content=body, status_code=status_code, media_type="application/json")


def json_response(data: Any, status_code: int = 200) -> Response:
    return json_bytes(dumps(data), status_code)


def no_content() -> Response:
    return Response(status_code=204)
