"""Deterministic fault injection.

Spec syntax (the same for `--faults`, `build_app(faults=...)` and `PUT /_emulator/faults`):
semicolon-separated `key=value` pairs, e.g.

    seed=7;rate=0.1;kinds=429,500,503,drop_before,drop_after;match=POST /v1/convai/phone-numbers*;latency_ms=5

- `kinds`: comma list of `429`, `500`, `503`, `drop_before`, `drop_after` (default all five)
- `rate`: probability (0..1) that a matching request gets a fault (default 1)
- `seed`: seed of the random draws, so a run is reproducible (default 0)
- `match`: comma list of `METHOD PATH-GLOB` (fnmatch; method may be `*`; a bare glob means any
  method). Default: every request. `/_emulator/*` is never faulted.
- `count`: at most this many faults, then the plan goes quiet (default unlimited)
- `after`: let the first N matching requests through untouched (default 0)
- `latency_ms`: extra delay for every matching request (default 0)
- `retry_after`: seconds in the 429 `Retry-After` header (default 1; 0 keeps tests fast)

`drop_before` drops the connection without running the request; `drop_after` commits the
write and then drops the connection, the case that duplicates resources in careless clients.
"""

from __future__ import annotations

import fnmatch
import random
from dataclasses import dataclass, field

KINDS = ("429", "500", "503", "drop_before", "drop_after")


class FaultSpecError(ValueError):
    """A fault spec that cannot be parsed; the message says which part."""


@dataclass
class FaultPlan:
    kinds: tuple[str, ...] = KINDS
    rate: float = 1.0
    seed: int = 0
    match: tuple[tuple[str, str], ...] = ()
    count: int | None = None
    after: int = 0
    latency_ms: int = 0
    retry_after: int = 1
    spec: str = ""
    _rng: random.Random = field(init=False, repr=False)
    _seen: int = field(default=0, init=False)
    _injected: int = field(default=0, init=False)

    def __post_init__(self) -> None:
        self._rng = random.Random(self.seed)

    @classmethod
    def parse(cls, spec: str) -> FaultPlan:
        values: dict[str, str] = {}
        for part in filter(None, (p.strip() for p in spec.split(";"))):
            key, sep, value = part.partition("=")
            if not sep:
                raise FaultSpecError(f"fault spec part {part!r} is not key=value")
            values[key.strip()] = value.strip()
        unknown = set(values) - {"kinds", "rate", "seed", "match", "count", "after", "latency_ms", "retry_after"}
        if unknown:
            raise FaultSpecError(f"unknown fault spec key(s): {', '.join(sorted(unknown))}")
        try:
            kinds = tuple(k.strip() for k in values.get("kinds", ",".join(KINDS)).split(",") if k.strip())
            bad = [k for k in kinds if k not in KINDS]
            if bad:
                raise FaultSpecError(f"unknown fault kind(s): {', '.join(bad)} (known: {', '.join(KINDS)})")
            rate = float(values.get("rate", "1"))
            if not 0.0 <= rate <= 1.0:
                raise FaultSpecError("rate must be between 0 and 1")
            return cls(
                kinds=kinds,
                rate=rate,
                seed=int(values.get("seed", "0")),
                match=tuple(_pattern(m) for m in values.get("match", "").split(",") if m.strip()),
                count=int(values["count"]) if "count" in values else None,
                after=int(values.get("after", "0")),
                latency_ms=int(values.get("latency_ms", "0")),
                retry_after=int(values.get("retry_after", "1")),
                spec=spec,
            )
        except ValueError as exc:
            if isinstance(exc, FaultSpecError):
                raise
            raise FaultSpecError(f"bad number in fault spec: {exc}") from exc

    def matches(self, method: str, path: str) -> bool:
        if not self.match:
            return True
        return any((m == "*" or m == method) and fnmatch.fnmatchcase(path, glob) for m, glob in self.match)

    def draw(self, method: str, path: str) -> str | None:
        """The fault for this request, or None. Consumes randomness only for matching requests."""
        if not self.kinds or not self.matches(method, path):
            return None
        self._seen += 1
        if self._seen <= self.after or (self.count is not None and self._injected >= self.count):
            return None
        if self._rng.random() >= self.rate:
            return None
        self._injected += 1
        return self.kinds[self._rng.randrange(len(self.kinds))]

    def describe(self) -> dict[str, object]:
        return {"spec": self.spec, "seen": self._seen, "injected": self._injected}


def _pattern(text: str) -> tuple[str, str]:
    text = text.strip()
    method, sep, glob = text.partition(" ")
    if sep and method.isalpha():
        return method.upper(), glob.strip()
    return "*", text


def coerce(faults: str | FaultPlan | None) -> FaultPlan | None:
    if faults is None or isinstance(faults, FaultPlan):
        return faults
    return FaultPlan.parse(faults) if faults.strip() else None
