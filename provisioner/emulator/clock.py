"""The emulator's clock: wall time plus an offset that tests advance deterministically."""

from __future__ import annotations

import time


class Clock:
    def __init__(self, offset: float = 0.0) -> None:
        self.offset = offset

    def now(self) -> float:
        return time.time() + self.offset

    def advance(self, seconds: float) -> float:
        self.offset += seconds
        return self.now()
