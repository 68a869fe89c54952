"""Logging for the CLI: `TELEPHONY_LOG`, `-v`, `--log-format text|json`, to stderr.

`TELEPHONY_LOG=LEVEL[,LOGGER...]` (debug, info, warning, error; default warning) sets the level
of telephony's own loggers (`provisioner.*`). Other libraries' loggers (httpx, httpcore,
uvicorn, asyncio, ...) stay at warning: their debug output is noise that can also carry request
details. Name one to raise it too: `TELEPHONY_LOG=debug,httpx`. `-v` on a command is
`TELEPHONY_LOG=debug` for telephony's loggers.

`--log-format json` writes one JSON object per line: `timestamp` (ISO 8601, UTC, milliseconds),
`level`, `logger`, `message`, and `exception` when there is a traceback. Every message passes
through `redact.scrub`, so a secret value that reached a log line is masked like anywhere else.
"""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Mapping
from typing import Any, Literal, TextIO

from provisioner.errors import ConfigError

LogFormat = Literal["text", "json"]
LEVELS = {"debug": logging.DEBUG, "info": logging.INFO, "warning": logging.WARNING, "error": logging.ERROR}
OWN = "provisioner"
ENV = "TELEPHONY_LOG"
FORMAT_ENV = "TELEPHONY_LOG_FORMAT"
_raised: set[str] = set()  # third-party loggers the last configure() raised


class InvalidSetting(ConfigError):
    """A TELEPHONY_LOG or TELEPHONY_LOG_FORMAT value that is none of the choices."""


def _scrub(text: str) -> str:
    from provisioner.redact import scrub  # only when a line is written: --version never pays for it

    return scrub(text)


class TextFormatter(logging.Formatter):
    def __init__(self) -> None:
        super().__init__("%(levelname)s %(name)s: %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        return _scrub(super().format(record))


class JsonFormatter(logging.Formatter):
    """One JSON object per line (a traceback goes inside it, never on lines of its own)."""

    def format(self, record: logging.LogRecord) -> str:
        import json  # here, not at the top: the CLI imports this module on every start, --version too
        from datetime import UTC, datetime

        entry: dict[str, Any] = {
            "timestamp": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": _scrub(record.getMessage()),
        }
        if record.exc_info:
            entry["exception"] = _scrub(self.formatException(record.exc_info))
        return json.dumps(entry, ensure_ascii=False)


class _Stderr(logging.StreamHandler):  # type: ignore[type-arg]
    """Writes to whatever `sys.stderr` is when a record arrives (tests swap it per test)."""

    def __init__(self) -> None:
        super().__init__()

    @property
    def stream(self) -> TextIO:
        return sys.stderr

    @stream.setter
    def stream(self, value: TextIO) -> None:
        pass  # the stream is always the current stderr


def settings(environ: Mapping[str, str] | None = None) -> tuple[int, list[str]]:
    """The level and the extra (third-party) logger names from TELEPHONY_LOG."""
    environ = os.environ if environ is None else environ
    raw = environ.get(ENV, "").strip()
    if not raw:
        return logging.WARNING, []
    name, *extra = [part.strip() for part in raw.split(",")]
    if name.lower() not in LEVELS:
        choices = "|".join(LEVELS)
        raise InvalidSetting(f"{ENV}={raw}: the level must be one of {choices}, optionally ',LOGGER' names after it")
    return LEVELS[name.lower()], [logger for logger in extra if logger]


def log_format(option: str | None, environ: Mapping[str, str] | None = None) -> LogFormat:
    """--log-format, else TELEPHONY_LOG_FORMAT, else text."""
    environ = os.environ if environ is None else environ
    value = (option or environ.get(FORMAT_ENV, "") or "text").strip().lower()
    if value not in ("text", "json"):
        raise InvalidSetting(f"{FORMAT_ENV}={value}: expected text or json")
    return "json" if value == "json" else "text"


def configure(fmt: LogFormat = "text", environ: Mapping[str, str] | None = None) -> None:
    """Install the one stderr handler on the root logger (again: replaced, never doubled)."""
    level, extra = settings(environ)
    root = logging.getLogger()
    for handler in [h for h in root.handlers if isinstance(h, _Stderr)]:
        root.removeHandler(handler)
    handler = _Stderr()
    handler.setFormatter(JsonFormatter() if fmt == "json" else TextFormatter())
    root.addHandler(handler)
    # Records of every library propagate to root; only the loggers set below may pass below warning.
    root.setLevel(logging.WARNING)
    # A library logger raised by an earlier configure in this process (tests, library callers)
    # goes back to inheriting from root, so its lines never leak into a later run.
    for name in _raised - set(extra):
        logging.getLogger(name).setLevel(logging.NOTSET)
    _raised.clear()
    logging.getLogger(OWN).setLevel(level)
    for name in extra:
        logging.getLogger(name).setLevel(level)
        _raised.add(name)


def verbose() -> None:
    """`-v`: telephony's own debug lines, whatever TELEPHONY_LOG says."""
    logging.getLogger(OWN).setLevel(logging.DEBUG)
