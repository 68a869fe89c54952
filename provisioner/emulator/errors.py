"""Error bodies exactly as the real API sends them.

Two shapes: FastAPI's 422 `{"detail": [...]}` array (produced by FastAPI itself), and for every
other error a `detail` object `{type, code, message, status, request_id}` where `status` is the
legacy mirror that older clients read.
"""

from __future__ import annotations

from typing import Any

from fastapi import Request
from fastapi.responses import JSONResponse

from provisioner.emulator.ids import request_id


class EmulatorError(Exception):
    """An API error with its HTTP status and `detail` object; rendered by `error_handler`."""

    def __init__(
        self,
        status_code: int,
        *,
        type_: str,
        code: str,
        message: str,
        status: str,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status_code = status_code
        self.detail: dict[str, Any] = {
            "type": type_,
            "code": code,
            "message": message,
            "status": status,
            "request_id": request_id(),
        }
        self.headers = headers or {}


def missing_api_key() -> EmulatorError:
    return EmulatorError(
        401,
        type_="authentication_error",
        code="needs_authorization",
        message="Neither authorization header nor xi-api-key received, please provide one.",
        status="needs_authorization",
    )


def invalid_api_key() -> EmulatorError:
    return EmulatorError(
        401, type_="authentication_error", code="unauthorized", message="Invalid API key", status="invalid_api_key"
    )


def not_found(kind: str, ident: str) -> EmulatorError:
    # The captured live body for agents is `document_not_found` / "Document with id ... not found.";
    # the reference recommends the same for every ConvAI resource, plus the newer keys.
    return EmulatorError(
        404,
        type_="not_found",
        code=f"{kind}_not_found",
        message=f"Document with id {ident} not found.",
        status="document_not_found",
    )


def bad_request(code: str, message: str) -> EmulatorError:
    return EmulatorError(400, type_="invalid_request", code=code, message=message, status=code)


def rate_limited(retry_after: int) -> EmulatorError:
    return EmulatorError(
        429,
        type_="rate_limit_error",
        code="rate_limit_exceeded",
        message="Too many requests (emulator fault injection).",
        status="too_many_concurrent_requests",
        headers={"Retry-After": str(retry_after)},
    )


def concurrency_limited(limit: int) -> EmulatorError:
    """Over `--max-concurrency`: the current code plus the legacy status (elevenlabs-api.md §1)."""
    return EmulatorError(
        429,
        type_="rate_limit_error",
        code="concurrent_limit_exceeded",
        message=f"Too many concurrent requests: at most {limit} at once (emulator --max-concurrency).",
        status="too_many_concurrent_requests",
    )


def rate_limit_exceeded(retry_after: int) -> EmulatorError:
    """Over `--rate-limit`: `Retry-After` in whole seconds."""
    return EmulatorError(
        429,
        type_="rate_limit_error",
        code="rate_limit_exceeded",
        message="Rate limit exceeded: too many requests per second (emulator --rate-limit).",
        status="rate_limit_exceeded",
        headers={"Retry-After": str(retry_after)},
    )


def server_error(status_code: int) -> EmulatorError:
    if status_code == 503:
        return EmulatorError(
            503,
            type_="service_unavailable",
            code="service_unavailable",
            message="Service unavailable (emulator fault injection).",
            status="system_busy",
        )
    return EmulatorError(
        status_code,
        type_="internal_error",
        code="internal_error",
        message="Internal server error (emulator fault injection).",
        status="internal_error",
    )


def error_response(exc: EmulatorError) -> JSONResponse:
    return JSONResponse({"detail": exc.detail}, status_code=exc.status_code, headers=exc.headers)


async def error_handler(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, EmulatorError)
    return error_response(exc)
