"""SIGINT and SIGTERM, specified once (see README "Exit codes").

Outside an apply's writes, a signal raises `Interrupted` (a BaseException, so neither click nor a
broad `except Exception` swallows it): the command prints one line that says nothing was changed
and exits 130 (SIGINT) or 143 (SIGTERM). During an apply's writes, the first signal stops
starting steps, lets the requests in flight finish (at most `GRACE_S`), prints the report, and
exits 4 if anything was applied (else 130/143); a second signal stops at once.
"""

from __future__ import annotations

import signal
from types import FrameType

GRACE_S = 20.0


class Interrupted(BaseException):
    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signum = signum

    @property
    def name(self) -> str:
        return signal.Signals(self.signum).name

    @property
    def exit_code(self) -> int:
        return 128 + self.signum


def _raise(signum: int, frame: FrameType | None) -> None:
    raise Interrupted(signum)


def install() -> None:
    """Route SIGINT and SIGTERM to `Interrupted` (main thread only)."""
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, _raise)
