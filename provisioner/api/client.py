"""The ElevenLabs REST client: the only module that speaks HTTP.

It speaks the real API (paths and bodies from the API reference) over an injectable httpx
transport, so the same code runs against production, the emulator on a port, or the emulator
in-process (`--sandbox`). It returns typed wire models (`provisioner.api.wire`); the codec turns those into values.

Reliability rules:
* concurrency is bounded by a shared adaptive limiter (`provisioner.api.limiter`): at most
  `parallelism` requests in flight, halved on a 429 `concurrent_limit_exceeded`, raised again
  by one after a run of successes; a 429 `rate_limit_exceeded` pauses every worker until its
  Retry-After time (one shared instant) instead of each retrying on its own;
* 429, 5xx and connection errors are retried with exponential backoff and full jitter,
  honouring `Retry-After` (capped, so a hostile header cannot stall a run forever);
* a create (POST) is never retried blindly: after an ambiguous failure (5xx, timeout, dropped
  connection) the caller-supplied `lookup` is asked whether the write landed, and only if it did
  not is the POST sent again. A 429 is not ambiguous (the request was refused) and is retried;
* the API key is sent in a header and never logged, nor included in any error message: every
  `ApiError` message is scrubbed of the key and of every secret value resolved so far
  (`provisioner.redact`), also when the server echoes the request in its error body.

Limits (`Limits`; env vars in `provisioner.workspace.limits`), so a hostile or broken server can
neither hang a run nor exhaust memory:
* stall guard: no byte for `stall_timeout` seconds ends the attempt (httpx's read timeout is
  per socket read, i.e. exactly "no byte for N s"; a slow drip is bounded by the run deadline);
* response size: bodies are streamed and dropped past `max_response_bytes`;
* paging must make progress: a repeated cursor is an error, and so are more than `max_pages`.
"""

from __future__ import annotations

import asyncio
import email.utils
import logging
import math
import random
import time
from collections.abc import Awaitable, Callable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from typing import Any, TypeVar

import httpx
from pydantic import BaseModel, RootModel, ValidationError

from provisioner import redact
from provisioner.api import wire
from provisioner.api.limiter import AdaptiveLimiter, Outcome, Throttle, throttle_kind
from provisioner.errors import DeadlineExceeded, TelephonyError

log = logging.getLogger(__name__)

M = TypeVar("M", bound=BaseModel)
P = TypeVar("P", wire.AgentsPage, wire.SecretsPage)  # cursor-paged list responses
NUMBERS_V1 = "/v1/convai/phone-numbers"
NUMBERS_V2 = "/v1/convai/v2/phone-numbers"
AGENTS = "/v1/convai/agents"
SETTINGS = "/v1/convai/settings"
SECRETS = "/v1/convai/secrets"
# v2 number list page sizes, largest first. The v2 list is not in the OpenAPI spec and the SDK
# gives no maximum; 100 is the maximum of every paged list the spec does describe (agents,
# secrets) and the emulator's. 30 is the default page size of those lists.
NUMBER_PAGE_SIZES = (100, 30)


class ApiError(TelephonyError):
    """An API call failed for good. Carries the call (method + path), the status and the API's message."""

    def __init__(self, method: str, path: str, status: int | None, message: str) -> None:
        self.method = method
        self.path = path
        self.status = status
        self.message = redact.scrub(message)
        where = f"{method} {path}"
        what = f"HTTP {status}" if status is not None else "no response"
        super().__init__(redact.scrub(f"{where} failed ({what}): {message}"))

    def __str__(self) -> str:
        # Scrubbed again when shown: a secret resolved after this error was made is still hidden.
        return redact.scrub(super().__str__())


class ResponseShapeError(ApiError):
    """A 2xx whose body is not what the call returns (HTML from a proxy, empty, wrong shape)."""


@dataclass(frozen=True)
class Limits:
    """What a run accepts from the server. Tests shrink them through environment variables."""

    stall_timeout: float = 30.0  # seconds without a byte (connect, send or receive) ends an attempt
    max_response_bytes: int = 256 * 1024 * 1024
    max_pages: int = 10_000  # per paged list (100 items a page)


@dataclass(frozen=True)
class RetryPolicy:
    """How hard to try. Tests shrink the delays through environment variables (see workspace.py)."""

    max_attempts: int = 6
    base_delay: float = 0.5
    max_delay: float = 20.0
    max_retry_after: float = 60.0

    def backoff(self, attempt: int, retry_after: float | None) -> float:
        if retry_after is not None:
            return min(max(retry_after, 0.0), self.max_retry_after)
        # Full jitter (AWS architecture blog): spreads retries of many concurrent writers.
        return random.uniform(0, min(self.max_delay, self.base_delay * 2**attempt))


@dataclass
class Stats:
    requests: int = 0
    retries: int = 0
    by_status: dict[str, int] = field(default_factory=dict)


def _seconds(raw: str) -> float | None:
    try:
        value = float(raw.strip())
    except ValueError:
        return None
    return value if math.isfinite(value) and value >= 0 else None


def retry_delay(headers: Mapping[str, str], now: float) -> float | None:
    """Seconds the server asks to wait, from the first header that parses, else None.

    `retry-after-ms` (milliseconds), `Retry-After` (seconds or an HTTP date), `x-ratelimit-reset`
    (unix seconds). A value that parses as none of these is ignored, never fatal.
    """
    raw = headers.get("retry-after-ms")
    if raw and (ms := _seconds(raw)) is not None:
        return ms / 1000
    raw = headers.get("retry-after")
    if raw:
        seconds = _seconds(raw)
        if seconds is not None:
            return seconds
        try:
            parsed = email.utils.parsedate_to_datetime(raw)
        except (TypeError, ValueError, IndexError, OverflowError):
            parsed = None
        if parsed is not None and parsed.tzinfo is not None:
            return max(0.0, parsed.timestamp() - now)
    raw = headers.get("x-ratelimit-reset")
    if raw:
        reset = _seconds(raw)
        if reset is not None and reset > 1_000_000_000:  # unix seconds, not a delay
            return max(0.0, reset - now)
    return None


def _message(response: httpx.Response) -> str:
    """The API's own words: `detail.message`, a 422 `detail[]` list, or the raw text; one line,
    at most 300 characters, whatever the body holds."""
    try:
        body = response.json()
    except (ValueError, RecursionError):
        text = response.text if response.headers.get("content-type", "").startswith("text/plain") else ""
        return _one_line(text) or f"{response.reason_phrase or 'no message'} (the body is not JSON)"
    detail = body.get("detail") if isinstance(body, dict) else None
    if isinstance(detail, dict):
        return _one_line(str(detail.get("message") or detail.get("status") or detail))
    if isinstance(detail, list):
        parts = []
        for item in detail[:5]:
            if isinstance(item, dict):
                loc = item.get("loc")
                where = ".".join(str(p) for p in loc) if isinstance(loc, list) else str(loc or "")
                parts.append(f"{where}: {item.get('msg', '')}")
        return _one_line("; ".join(parts) or str(detail))
    if isinstance(detail, str):
        return _one_line(detail)
    return _one_line(str(body))


def _one_line(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= 300 else text[:297] + "..."


def _display(url: str) -> str:
    """The URL without any user:password@ part."""
    return redact.display_url(url)


def _short(value: str) -> str:
    return repr(value if len(value) <= 40 else value[:37] + "...")


def _throttle(response: httpx.Response) -> Throttle | None:
    """For a 429: which limit it names (`concurrency`, `rate`), or None."""
    if response.status_code != 429:
        return None
    try:
        return throttle_kind(response.json())
    except (ValueError, RecursionError):
        return None


def _retryable_status(status: int) -> bool:
    # 408: the server gave up waiting; like a 5xx the write may or may not have landed.
    return status in (408, 429) or status >= 500


class ElevenLabsClient:
    """Async client for the telephony surface of the ElevenLabs Agents Platform API."""

    number_page_size: int = NUMBER_PAGE_SIZES[0]  # lowered when the API refuses a page size

    def __init__(
        self,
        base_url: str,
        api_key: str,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        parallelism: int = 8,
        timeout: float | None = None,
        retry: RetryPolicy | None = None,
        limits: Limits | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.retry = retry or RetryPolicy()
        self.limits = limits or Limits()
        if timeout is not None:  # the former name of the stall guard
            self.limits = replace(self.limits, stall_timeout=timeout)
        self.stats = Stats()
        self.parallelism = max(1, parallelism)
        self.limiter = AdaptiveLimiter(self.parallelism)
        self._deadline: tuple[float, float] | None = None  # (seconds, event-loop time it passes)
        self._deadline_hard = False
        redact.remember(api_key)
        redact.remember_url(base_url)
        stall = self.limits.stall_timeout
        # httpx applies read/write timeouts to each socket operation: "no byte for N s" (the stall
        # guard), not a limit on the whole response. The pool wait is bounded by our limiter.
        self._http = httpx.AsyncClient(
            base_url=self.base_url,
            headers={"xi-api-key": api_key, "accept": "application/json"},
            transport=transport,
            timeout=httpx.Timeout(connect=min(stall, 10.0), read=stall, write=stall, pool=None),
        )

    async def __aenter__(self) -> ElevenLabsClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._http.aclose()

    # -- the run deadline -------------------------------------------------------------------

    def set_deadline(self, seconds: float | None) -> None:
        """From now on, a request still running (or retrying) `seconds` from now raises
        `DeadlineExceeded`. Call inside the event loop that runs the requests."""
        if seconds is None:
            self._deadline, self._deadline_hard = None, False
        else:
            self._deadline = (seconds, asyncio.get_running_loop().time() + seconds)
            self._deadline_hard = True

    def soften_deadline(self) -> None:
        """Stop cutting requests at the deadline (before writes: a write cut mid-flight may or may
        not have landed); `deadline_passed()` still tells when it has passed."""
        self._deadline_hard = False

    def deadline_passed(self) -> bool:
        return self._deadline is not None and asyncio.get_running_loop().time() >= self._deadline[1]

    def _hard_deadline(self) -> float | None:
        return self._deadline[1] if self._deadline is not None and self._deadline_hard else None

    def _past_deadline(self, method: str, path: str) -> DeadlineExceeded:
        assert self._deadline is not None
        return DeadlineExceeded(self._deadline[0], f"{method} {path}")

    # -- transport -------------------------------------------------------------------------

    async def _send_once(
        self, method: str, path: str, params: dict[str, Any] | None, body: dict[str, Any] | None
    ) -> httpx.Response:
        ticket = await self.limiter.acquire()
        outcome: Outcome = "neutral"
        try:
            self.stats.requests += 1
            kwargs: dict[str, Any] = {"params": params}
            if body is not None:
                kwargs["json"] = body
            request = self._http.build_request(method, path, **kwargs)
            response = await self._http.send(request, stream=True)
            try:
                await self._read_body(method, path, response)
            finally:
                await response.aclose()
            if response.is_success:
                outcome = "success"
            elif _throttle(response) == "concurrency":
                outcome = "concurrency"
        finally:
            self.limiter.release(ticket, outcome)
        key = str(response.status_code)
        self.stats.by_status[key] = self.stats.by_status.get(key, 0) + 1
        return response

    async def _read_body(self, method: str, path: str, response: httpx.Response) -> None:
        """Read the body, at most `max_response_bytes` of it (decoded): past that, `ApiError`."""
        cap = self.limits.max_response_bytes
        declared = response.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > cap:
            raise ApiError(method, path, response.status_code, self._too_large(f"declares {int(declared)} bytes"))
        received = bytearray()
        try:
            async for chunk in response.aiter_bytes():
                received += chunk
                if len(received) > cap:
                    raise ApiError(method, path, response.status_code, self._too_large("sent more"))
        except httpx.DecodingError:
            encoding = response.headers.get("content-encoding", "")
            raise ApiError(
                method,
                path,
                response.status_code,
                _one_line(f"the body is not valid {encoding!r} data (Content-Encoding); a proxy may have altered it"),
            ) from None
        response._content = bytes(received)  # what `Response.aread` sets: .json() and .text read it

    def _too_large(self, what: str) -> str:
        cap = self.limits.max_response_bytes
        return (
            f"the response {what} than the {cap}-byte limit; if the workspace really is that large, "
            "raise TELEPHONY_MAX_RESPONSE_BYTES"
        )

    async def request(
        self,
        method: str,
        path: str,
        *,
        params: dict[str, Any] | None = None,
        body: dict[str, Any] | None = None,
        retry_ambiguous: bool = True,
        gone_ok: bool = False,
    ) -> httpx.Response:
        """Send with retries. With `retry_ambiguous=False` an ambiguous failure is raised as
        `_Ambiguous` so the caller can check whether the write landed before trying again."""
        attempt = 0
        while True:
            hard = self._hard_deadline()
            try:
                if hard is not None and asyncio.get_running_loop().time() >= hard:
                    raise self._past_deadline(method, path)
                async with asyncio.timeout_at(hard) as scope:
                    response = await self._send_once(method, path, params, body)
            except TimeoutError:
                if hard is not None and scope.expired():
                    raise self._past_deadline(method, path) from None
                raise
            except httpx.TransportError as exc:
                # Connection refused before sending is safe to retry; everything else may have landed.
                safe = isinstance(exc, httpx.ConnectError)
                if not retry_ambiguous and not safe:
                    raise _Ambiguous(None, f"connection failed: {type(exc).__name__}") from exc
                if attempt + 1 >= self.retry.max_attempts:
                    raise ApiError(method, path, None, self._no_response(exc)) from exc
                await self._sleep(method, path, attempt, None, type(exc).__name__)
                attempt += 1
                continue
            if response.is_success:
                return response
            if gone_ok and response.status_code == 404:
                # The resource is already gone (deleted by hand, or by a retried attempt that landed):
                # the goal of a DELETE is reached.
                return response
            if not _retryable_status(response.status_code) or attempt + 1 >= self.retry.max_attempts:
                raise ApiError(method, path, response.status_code, _message(response))
            if not retry_ambiguous and response.status_code != 429:
                raise _Ambiguous(response.status_code, _message(response))
            if _throttle(response) == "rate":
                # One pause for every worker, until the Retry-After time; the retry waits in the limiter.
                self._pause_all(method, path, attempt, retry_delay(response.headers, time.time()))
                attempt += 1
                continue
            await self._sleep(
                method, path, attempt, retry_delay(response.headers, time.time()), f"HTTP {response.status_code}"
            )
            attempt += 1

    def _no_response(self, exc: httpx.TransportError) -> str:
        """Why there was no response, with the base URL (a wrong --api-url is the usual cause)."""
        detail = str(exc).strip() or type(exc).__name__
        if isinstance(exc, httpx.ReadTimeout | httpx.WriteTimeout):
            return (
                f"{_display(self.base_url)} sent nothing for {self.limits.stall_timeout:g} s (the stall guard); "
                "try again later, or raise TELEPHONY_STALL_TIMEOUT if the API is just slow"
            )
        if isinstance(exc, httpx.ConnectError):
            return f"cannot connect to {_display(self.base_url)}: {detail}"
        return f"connection to {_display(self.base_url)} failed: {type(exc).__name__}: {detail}"

    async def _sleep(self, method: str, path: str, attempt: int, retry_after: float | None, why: str) -> None:
        delay = self.retry.backoff(attempt, retry_after)
        hard = self._hard_deadline()
        if hard is not None and asyncio.get_running_loop().time() + delay >= hard:
            raise self._past_deadline(method, path)  # no point waiting for a retry that cannot happen
        self.stats.retries += 1
        log.debug("retry: method=%s path=%s attempt=%d reason=%s delay=%.2f", method, path, attempt + 1, why, delay)
        await asyncio.sleep(delay)

    def _pause_all(self, method: str, path: str, attempt: int, retry_after: float | None) -> None:
        delay = self.retry.backoff(attempt, retry_after)
        hard = self._hard_deadline()
        if hard is not None and asyncio.get_running_loop().time() + delay >= hard:
            raise self._past_deadline(method, path)
        self.stats.retries += 1
        log.debug("rate limited: method=%s path=%s attempt=%d pause=%.2f", method, path, attempt + 1, delay)
        self.limiter.pause(delay)

    async def create_idempotent(
        self,
        path: str,
        body: dict[str, Any] | None,
        lookup: Callable[[], Awaitable[str | None]],
    ) -> tuple[str | None, httpx.Response | None]:
        """POST a create; after an ambiguous failure, `lookup()` finds the resource if the write
        landed. Returns (existing id found by lookup, None) or (None, the response)."""
        last = _Ambiguous(None, "no attempt made")
        for attempt in range(self.retry.max_attempts):
            try:
                response = await self.request("POST", path, body=body, retry_ambiguous=False)
                return None, response
            except _Ambiguous as exc:
                last = exc
                log.debug("create: ambiguous failure path=%s reason=%s; looking up", path, exc.message)
                found = await lookup()
                if found is not None:
                    return found, None
                if attempt + 1 < self.retry.max_attempts:
                    await self._sleep("POST", path, attempt, None, exc.message)
        raise ApiError("POST", path, last.status, last.message)

    # -- typed reads and writes -------------------------------------------------------------

    async def _read(self, model: type[M], method: str, path: str, **kwargs: Any) -> M:
        """Send and parse the body as `model`; a 2xx of another shape is a `ResponseShapeError`."""
        response = await self.request(method, path, **kwargs)
        return parse(model, method, path, response)

    # -- phone numbers ----------------------------------------------------------------------

    async def list_phone_numbers(self, *, phone_number: str | None = None) -> list[wire.PhoneNumberResponse]:
        """Every number in the workspace, following v2 cursor pages (v1 bare array as a fallback).
        `phone_number` narrows the v2 list server-side (callers still match exactly).

        Pages are as large as the API allows (`NUMBER_PAGE_SIZES`, largest first): a page size the
        API refuses (422 on the first page) is retried smaller, and the size that worked is kept for
        the client's later lists; when every size is refused, the v1 bare array."""
        numbers: list[wire.PhoneNumberResponse] = []
        cursor: str | None = None
        paging = _Paging(NUMBERS_V2, self.limits.max_pages)
        sizes = [size for size in NUMBER_PAGE_SIZES if size <= self.number_page_size]
        while True:
            params: dict[str, Any] = {"page_size": sizes[0]}
            if phone_number:
                params["phone_number"] = phone_number
            if cursor:
                params["cursor"] = cursor
            try:
                page = await self._read(wire.PhoneNumbersPage, "GET", NUMBERS_V2, params=params)
            except ApiError as exc:
                if exc.status == 422 and not numbers and not cursor and len(sizes) > 1:
                    log.debug("v2 number list refused page_size=%d; trying %d", sizes[0], sizes[1])
                    sizes.pop(0)
                    continue
                # An API without the v2 list (404/405) or refusing its parameters (422): the v1 bare array.
                if exc.status in (404, 405, 422) and not numbers:
                    return list(await self._read(_NumberList, "GET", NUMBERS_V1))
                raise
            self.number_page_size = sizes[0]
            numbers.extend(page.phone_numbers)
            cursor = page.next_cursor
            # `has_more` is optional (the SDK marks it so): the cursor alone says whether to go on.
            if not cursor or page.has_more is False:
                return numbers
            paging.advance(cursor)

    async def find_phone_number(self, e164: str) -> wire.PhoneNumberResponse | None:
        for item in await self.list_phone_numbers(phone_number=e164):
            if item.phone_number == e164:
                return item
        return None

    async def get_phone_number(self, phone_number_id: str) -> wire.PhoneNumberResponse:
        return await self._read(wire.PhoneNumberResponse, "GET", f"{NUMBERS_V1}/{phone_number_id}")

    async def import_phone_number(self, e164: str, body: dict[str, Any]) -> str:
        """Import a number, never twice: an ambiguous failure is resolved by looking the number up."""

        async def lookup() -> str | None:
            found = await self.find_phone_number(e164)
            return found.phone_number_id if found else None

        existing, created = await self.create_idempotent(NUMBERS_V1, body, lookup)
        if existing is not None:
            return existing
        assert created is not None
        return await _created_id(
            lambda: parse(wire.CreatePhoneNumberResponse, "POST", NUMBERS_V1, created).phone_number_id, lookup
        )

    async def update_phone_number(self, phone_number_id: str, body: dict[str, Any]) -> None:
        await self.request("PATCH", f"{NUMBERS_V1}/{phone_number_id}", body=body)

    async def delete_phone_number(self, phone_number_id: str) -> None:
        await self.request("DELETE", f"{NUMBERS_V1}/{phone_number_id}", gone_ok=True)

    # -- agents, settings, secrets ------------------------------------------------------------

    async def list_agents(self) -> list[wire.AgentSummary]:
        """Every (not archived) agent of the workspace, following cursor pages."""
        return [agent for page in await self._cursor_pages(AGENTS, wire.AgentsPage) for agent in page.agents]

    async def get_agent(self, agent_id: str) -> wire.AgentResponse:
        return await self._read(wire.AgentResponse, "GET", f"{AGENTS}/{agent_id}")

    async def update_agent(self, agent_id: str, request: wire.AgentPatchRequest) -> None:
        await self.request("PATCH", f"{AGENTS}/{agent_id}", body=request.body())

    async def get_settings(self) -> wire.SettingsResponse:
        return await self._read(wire.SettingsResponse, "GET", SETTINGS)

    async def update_settings(self, request: wire.SettingsPatchRequest) -> None:
        await self.request("PATCH", SETTINGS, body=request.body())

    async def list_secrets(self) -> list[wire.SecretResponse]:
        return [secret for page in await self._cursor_pages(SECRETS, wire.SecretsPage) for secret in page.secrets]

    async def _cursor_pages(self, path: str, model: type[P]) -> list[P]:
        """Every page of a cursor-paged list (`next_cursor`, optional `has_more`), which must make progress."""
        pages: list[P] = []
        cursor: str | None = None
        paging = _Paging(path, self.limits.max_pages)
        while True:
            params: dict[str, Any] = {"page_size": 100}
            if cursor:
                params["cursor"] = cursor
            page = await self._read(model, "GET", path, params=params)
            pages.append(page)
            cursor = page.next_cursor
            if not cursor or page.has_more is False:
                return pages
            paging.advance(cursor)

    async def create_secret(self, name: str, value: str) -> str:
        """Create a workspace secret, or return the id of the one already named so (never a duplicate)."""

        async def lookup() -> str | None:
            for secret in await self.list_secrets():
                if secret.name == name:
                    return secret.secret_id
            return None

        existing = await lookup()
        if existing is not None:
            await self.update_secret(existing, name, value)
            return existing
        body = wire.CreateSecretRequest(name=name, value=value).body()
        found, created = await self.create_idempotent(SECRETS, body, lookup)
        if found is not None:
            return found
        assert created is not None
        return await _created_id(lambda: parse(wire.CreateSecretResponse, "POST", SECRETS, created).secret_id, lookup)

    async def update_secret(self, secret_id: str, name: str, value: str) -> None:
        body = wire.UpdateSecretRequest(name=name, value=value).body()
        await self.request("PATCH", f"{SECRETS}/{secret_id}", body=body)

    async def delete_secret(self, secret_id: str) -> None:
        await self.request("DELETE", f"{SECRETS}/{secret_id}", gone_ok=True)


async def _created_id(parsed: Callable[[], str], lookup: Callable[[], Awaitable[str | None]]) -> str:
    """The id a create answered. A 2xx of another shape means the write landed but its id is
    unreadable: `lookup()` finds it; only if that fails too is the shape error raised."""
    try:
        return parsed()
    except ResponseShapeError as exc:
        found = await lookup()
        if found is None:
            raise ResponseShapeError(
                exc.method, exc.path, exc.status, f"{exc.message}; it may have been created: `telephony plan` shows it"
            ) from None
        return found


class _Paging:
    """A cursor-paged list must make progress: no cursor twice, at most `max_pages` pages."""

    def __init__(self, path: str, max_pages: int) -> None:
        self.path = path
        self.max_pages = max_pages
        self.pages = 1
        self.seen: set[str] = set()

    def advance(self, cursor: str) -> None:
        """Called with the next page's cursor before it is requested."""
        if cursor in self.seen:
            raise ApiError(
                "GET",
                self.path,
                200,
                f"paging makes no progress: page {self.pages + 1} would repeat cursor {_short(cursor)}; "
                "the API is misbehaving, try again later",
            )
        if self.pages >= self.max_pages:
            raise ApiError(
                "GET",
                self.path,
                200,
                f"more than {self.max_pages} pages and the API still says there are more; "
                "if the workspace really is that large, raise TELEPHONY_MAX_PAGES",
            )
        self.seen.add(cursor)
        self.pages += 1


class _NumberList(RootModel[list[wire.PhoneNumberResponse]]):
    """GET /v1/convai/phone-numbers: the v1 bare array."""

    def __iter__(self) -> Iterator[wire.PhoneNumberResponse]:  # type: ignore[override]
        return iter(self.root)


def parse(model: type[M], method: str, path: str, response: httpx.Response) -> M:
    """The body of a 2xx as `model`, or one `ResponseShapeError` naming the call."""
    try:
        data = response.json()
    except (ValueError, RecursionError):  # RecursionError: JSON nested too deep to decode
        kind = response.headers.get("content-type", "no content type")
        raise ResponseShapeError(method, path, response.status_code, f"the body is not JSON ({kind})") from None
    try:
        return model.model_validate(data)
    except RecursionError:
        raise ResponseShapeError(method, path, response.status_code, "the body is nested too deeply") from None
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first.get("loc", ())) or "the body"
        raise ResponseShapeError(
            method, path, response.status_code, _one_line(f"unexpected response shape at {where}: {first.get('msg')}")
        ) from None


class _Ambiguous(Exception):
    """Internal: a write may or may not have landed."""

    def __init__(self, status: int | None, message: str) -> None:
        message = redact.scrub(message)  # it is logged with -v
        super().__init__(message)
        self.status = status
        self.message = message
