"""Server-side limits, as the real API enforces them (elevenlabs-api.md §1): a cap on requests in
flight and a request rate. Both answer 429 with the API's error bodies (errors.py).

- `max_concurrency`: above N real-API requests in flight at once (counted from arrival to the
  end of the response, the `--latency-ms` delay included), 429 `concurrent_limit_exceeded`
  (legacy `status` `too_many_concurrent_requests`), answered at once, no Retry-After.
- `rate_limit`: a token bucket of R requests per second holding at most `max(1, R)` tokens (one
  second's worth): a request finding it empty gets 429 `rate_limit_exceeded` with `Retry-After`
  in whole seconds (rounded up, at least 1) until a token is back.

The concurrency check comes first, so a request refused for concurrency takes no token. A request
refused by a limit draws no fault. `/_emulator/*` is never limited.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from typing import Any

from provisioner.emulator.errors import EmulatorError, concurrency_limited, rate_limit_exceeded


class ServerLimits:
    def __init__(
        self,
        *,
        max_concurrency: int | None = None,
        rate_limit: float | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if max_concurrency is not None and max_concurrency < 1:
            raise ValueError("max_concurrency must be at least 1")
        if rate_limit is not None and not (rate_limit > 0 and math.isfinite(rate_limit)):
            raise ValueError("rate_limit must be a positive number of requests per second")
        self.max_concurrency = max_concurrency
        self.rate_limit = rate_limit
        self.clock = clock
        self.in_flight = 0
        self.peak_in_flight = 0
        self.refused_concurrency = 0
        self.refused_rate = 0
        self._capacity = max(1.0, rate_limit) if rate_limit else 0.0
        self._tokens = self._capacity
        self._stamp = clock()

    def admit(self) -> EmulatorError | None:
        """Let one request in (then `done()` must follow), or the 429 to answer instead."""
        if self.max_concurrency is not None and self.in_flight >= self.max_concurrency:
            self.refused_concurrency += 1
            return concurrency_limited(self.max_concurrency)
        if self.rate_limit is not None:
            now = self.clock()
            self._tokens = min(self._capacity, self._tokens + (now - self._stamp) * self.rate_limit)
            self._stamp = now
            if self._tokens < 1.0:
                self.refused_rate += 1
                wait = (1.0 - self._tokens) / self.rate_limit
                return rate_limit_exceeded(max(1, math.ceil(wait)))
            self._tokens -= 1.0
        self.in_flight += 1
        self.peak_in_flight = max(self.peak_in_flight, self.in_flight)
        return None

    def done(self) -> None:
        self.in_flight -= 1

    def describe(self) -> dict[str, Any]:
        return {
            "max_concurrency": self.max_concurrency,
            "rate_limit": self.rate_limit,
            "in_flight": self.in_flight,
            "peak_in_flight": self.peak_in_flight,
            "refused_concurrency": self.refused_concurrency,
            "refused_rate": self.refused_rate,
        }

    def reset_counters(self) -> None:
        self.peak_in_flight = self.in_flight
        self.refused_concurrency = 0
        self.refused_rate = 0
