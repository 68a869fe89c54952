"""Adaptive request concurrency, shared by every worker of one `ElevenLabsClient`.

The API answers 429 for two different reasons (elevenlabs-api.md §1–2), and each is met once
for all workers, not by each retrying on its own:

* too many requests in flight (`detail.code` `concurrent_limit_exceeded`, or the legacy
  `detail.status` `too_many_concurrent_requests` / `system_busy`): the allowed concurrency is
  halved (at least 1). Only a refusal of a request sent under the current limit lowers it: the
  other refusals of the same burst were sent before the cut and say nothing new;
* too many requests per second (`rate_limit_exceeded`): every worker waits until one shared
  "not before" instant (the Retry-After time) before sending anything.

After `increase_after` successes in a row the limit rises by one, never above `maximum` (the
client's `parallelism`). A slot is taken only while fewer than the limit are in flight, so once a
cut is known no new request starts until the requests in flight have fallen below it.
"""

from __future__ import annotations

import asyncio
from collections import deque
from typing import Any, Literal

Throttle = Literal["concurrency", "rate"]
Outcome = Literal["success", "concurrency", "neutral"]

CONCURRENCY_CODES = frozenset({"concurrent_limit_exceeded"})
CONCURRENCY_STATUSES = frozenset({"too_many_concurrent_requests", "system_busy"})
RATE_CODES = frozenset({"rate_limit_exceeded"})


def throttle_kind(body: Any) -> Throttle | None:
    """Which limit a 429 body names: `concurrency`, `rate`, or None (unknown: retried as before).

    The current `detail.code` wins over the legacy `detail.status` (the emulator's injected 429
    fault has code `rate_limit_exceeded` with status `too_many_concurrent_requests`)."""
    detail = body.get("detail") if isinstance(body, dict) else None
    if not isinstance(detail, dict):
        return None
    code, status = detail.get("code"), detail.get("status")
    if code in CONCURRENCY_CODES:
        return "concurrency"
    if code in RATE_CODES:
        return "rate"
    if code is None or not isinstance(code, str):
        if status in CONCURRENCY_STATUSES:
            return "concurrency"
        if status in RATE_CODES:
            return "rate"
    return None


class AdaptiveLimiter:
    """At most `limit` requests in flight; `limit` moves between 1 and `maximum`.

    `acquire()` returns a ticket (the limit's generation when the slot was granted) that
    `release(ticket, outcome)` hands back. Counters for tests and reports: `peak` (most in flight
    at once), `decreases`, `increases`, `pauses`, `lowest` (the lowest limit reached)."""

    def __init__(self, maximum: int, *, increase_after: int = 10) -> None:
        self.maximum = max(1, maximum)
        self.limit = self.maximum
        self.increase_after = max(1, increase_after)
        self.in_flight = 0
        self.peak = 0
        self.lowest = self.maximum
        self.decreases = 0
        self.increases = 0
        self.pauses = 0
        self._generation = 0
        self._successes = 0
        self._not_before = 0.0  # event-loop time before which nothing is sent
        self._waiters: deque[asyncio.Future[None]] = deque()

    # -- slots ------------------------------------------------------------------------------

    async def acquire(self) -> int:
        """Wait for a slot (first come, first served), then for any shared pause to pass."""
        if self.in_flight < self.limit and not self._waiters:
            self._take()
        else:
            waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
            self._waiters.append(waiter)
            try:
                await waiter
            except BaseException:
                if waiter.done() and not waiter.cancelled():
                    self._give_back()  # granted, then cancelled before it could be used
                elif waiter in self._waiters:
                    self._waiters.remove(waiter)
                raise
        try:
            await self._wait_pause()
        except BaseException:
            self._give_back()
            raise
        return self._generation

    def release(self, ticket: int, outcome: Outcome) -> None:
        """Give the slot back, saying how the request went."""
        if outcome == "concurrency":
            if ticket == self._generation:
                self._lower()
        elif outcome == "success":
            self._successes += 1
            if self._successes >= self.increase_after:
                self._successes = 0
                if self.limit < self.maximum:
                    self.limit += 1
                    self.increases += 1
        self._give_back()

    def _take(self) -> None:
        self.in_flight += 1
        self.peak = max(self.peak, self.in_flight)

    def _give_back(self) -> None:
        self.in_flight -= 1
        self._wake()

    def _wake(self) -> None:
        while self._waiters and self.in_flight < self.limit:
            waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_result(None)
                self._take()  # taken on the waiter's behalf: no one can overtake it

    def _lower(self) -> None:
        self.limit = max(1, self.limit // 2)
        self.lowest = min(self.lowest, self.limit)
        self._generation += 1
        self._successes = 0
        self.decreases += 1

    # -- the shared pause -------------------------------------------------------------------

    def pause(self, seconds: float) -> None:
        """No worker sends anything for `seconds` from now (a later pause already set is kept)."""
        until = asyncio.get_running_loop().time() + max(0.0, seconds)
        if until > self._not_before:
            self._not_before = until
            self.pauses += 1

    def paused_until(self) -> float:
        """The event-loop time before which nothing is sent (in the past when not paused)."""
        return self._not_before

    async def _wait_pause(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            target = self._not_before
            wait = target - loop.time()
            if wait <= 0:
                return
            await asyncio.sleep(wait)
            if self._not_before == target:  # not pushed further while asleep
                return
