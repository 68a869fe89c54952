"""Pause Python's cyclic garbage collector around work that builds many objects at once.

Loading a manifest of 10,000 numbers creates several hundred thousand objects that all stay
alive (nodes, marks, dicts, models). Each allocation burst makes the collector traverse every
tracked object again, which took more CPU than the parsing itself. Nothing built here forms
cycles that must be collected before the command ends, so collection waits until the block ends.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager

_freeze = False  # whether `keep` may freeze: only a short-lived process (the CLI) says so


def freeze_kept(allowed: bool = True) -> None:
    """Let `paused(keep=True)` freeze what its block built. The `telephony` command calls this: its
    process ends soon after. A library caller (a long-lived service, a test run) never does, so
    garbage it makes later is always collected."""
    global _freeze
    _freeze = allowed


@contextmanager
def paused(*, keep: bool = False) -> Iterator[None]:
    """No automatic collection inside the block; nested uses and an already disabled collector
    are left as they were.

    `keep`: what exists at the end of the block is moved out of the collector's reach
    (`gc.freeze`), for long-lived results such as a loaded manifest: the first collection after
    the block would otherwise traverse all of it again (about 7% of a 10,000-number validate).
    Reference counting still frees it; only reference cycles that are garbage at that moment stay
    uncollected, which a short CLI run does not notice: so it happens only after `freeze_kept()`."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if keep and _freeze:
            gc.freeze()
        if was_enabled:
            gc.enable()
