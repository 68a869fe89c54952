"""The emulator's runtime controls: keys, faults, latency, request counts, the request log, and auth.

One `EmulatorState` hangs off `app.state.emulator`; `app.state.store` is its store.
"""

from __future__ import annotations

import copy
import json
from collections import Counter, deque
from collections.abc import Mapping, Sequence
from typing import Any

from fastapi import Request

from provisioner.emulator.errors import invalid_api_key, missing_api_key
from provisioner.emulator.faults import FaultPlan
from provisioner.emulator.limits import ServerLimits
from provisioner.emulator.store import Store


class EmulatorState:
    def __init__(
        self,
        *,
        store: Store,
        api_keys: Sequence[str] | None,
        faults: FaultPlan | None,
        latency_ms: int,
        seed: Mapping[str, Any] | None,
        limits: ServerLimits | None = None,
    ) -> None:
        self.store = store
        self.api_keys = frozenset(api_keys) if api_keys is not None else None
        self.faults = faults
        self.initial_faults_spec = faults.spec if faults else None
        self.latency_ms = latency_ms
        self.limits = limits or ServerLimits()
        self.seed = copy.deepcopy(dict(seed)) if seed is not None else None
        self.routes: Counter[str] = Counter()
        self.statuses: Counter[str] = Counter()
        self.faults_injected: Counter[str] = Counter()
        self.requests: deque[dict[str, Any]] = deque(maxlen=REQUEST_LOG_LIMIT)

    def record_request(self, method: str, path: str, query: str, body: bytes) -> None:
        """Log one real-API request for conformance tests: JSON bodies only, secrets redacted."""
        parsed: Any = None
        if body.strip():
            try:
                parsed = redact(json.loads(body))
            except (ValueError, RecursionError):
                parsed = None  # not JSON: not logged
        self.requests.append({"method": method, "path": path, "query": query, "body": parsed})

    def check_auth(self, request: Request) -> None:
        """Called at the top of every API handler, i.e. after FastAPI has validated the request."""
        key = request.headers.get("xi-api-key")
        if not key:
            auth = request.headers.get("authorization", "")
            key = auth[7:].strip() if auth[:7].lower() == "bearer " else ""
        if not key:
            raise missing_api_key()
        if self.api_keys is not None and key not in self.api_keys:
            raise invalid_api_key()

    def stats(self) -> dict[str, Any]:
        return {
            "total": sum(self.routes.values()),
            "routes": dict(sorted(self.routes.items())),
            "statuses": dict(sorted(self.statuses.items())),
            "faults": dict(sorted(self.faults_injected.items())),
            "fault_plan": self.faults.describe() if self.faults else None,
            "limits": self.limits.describe(),
        }

    def reset_counters(self) -> None:
        self.routes.clear()
        self.statuses.clear()
        self.faults_injected.clear()
        self.limits.reset_counters()


REQUEST_LOG_LIMIT = 5000
REDACTED = "<redacted>"
SECRET_KEYS = frozenset({"value", "token", "sid", "account_auth_token", "password", "api_key", "api_token"})


def redact(data: Any) -> Any:
    """`data` with the value of every secret-bearing key, at any depth, replaced by "<redacted>".

    A null stays null: it holds no secret, and whether a client sent it matters (a trunk
    password of null keeps the stored one)."""
    if isinstance(data, dict):
        return {k: (REDACTED if k in SECRET_KEYS and v is not None else redact(v)) for k, v in data.items()}
    if isinstance(data, list):
        return [redact(v) for v in data]
    return data


def state_of(request: Request) -> EmulatorState:
    state: EmulatorState = request.app.state.emulator
    return state


def authed_store(request: Request) -> Store:
    """Auth check, then the store: the first line of every real-API handler."""
    state = state_of(request)
    state.check_auth(request)
    return state.store
