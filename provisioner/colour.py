"""Whether output is coloured: one decision for every printer (click's `secho`, rich's console).

Order: `--no-color` (the `telephony` group sets `disable()`) and `NO_COLOR` turn colour off;
`FORCE_COLOR` turns it on where the stream is not a terminal (CI logs that render ANSI);
otherwise colour when the stream is a terminal. NO_COLOR wins over FORCE_COLOR: asking for no
colour is the safer reading of a contradiction. See https://no-color.org and
https://force-color.org; an empty value (and FORCE_COLOR=0) counts as unset.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import IO

_disabled = False  # --no-color on this run


def disable(off: bool = True) -> None:
    """`--no-color`: no colour for the rest of this process (`off=False` undoes it, for tests)."""
    global _disabled
    _disabled = off


def forced(environ: Mapping[str, str] | None = None) -> bool | None:
    """True/False when the flag or the environment decides, None when the terminal does."""
    environ = os.environ if environ is None else environ
    if _disabled or environ.get("NO_COLOR", ""):
        return False
    if environ.get("FORCE_COLOR", "") not in ("", "0"):
        return True
    return None


def enabled(stream: IO[str], environ: Mapping[str, str] | None = None) -> bool:
    """Whether to colour what is written to `stream`."""
    decided = forced(environ)
    if decided is not None:
        return decided
    try:
        return stream.isatty()
    except (AttributeError, ValueError):  # a closed or unusual stream: plain text is always safe
        return False
