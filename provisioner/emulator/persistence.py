"""Atomic state files: write a temporary file in the same directory, fsync, rename.

A reader (or a restart after SIGKILL) therefore sees the old file or the new one, never half of
one. Temporaries left by a process killed mid-write are never the state and are removed on start.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any


def dumps(data: Any) -> bytes:
    """Compact JSON bytes: the wire format and the state-file format."""
    return json.dumps(data, separators=(",", ":"), ensure_ascii=False).encode()


def atomic_write(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)  # atomic on POSIX
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def remove_stale_temporaries(path: Path) -> None:
    if path.parent.is_dir():
        for stale in path.parent.glob(f".{path.name}.*.tmp"):
            stale.unlink(missing_ok=True)


class StateFileError(ValueError):
    """A state file that is not one this emulator wrote (damaged, another version, wrong shape)."""


def load(path: Path, version: int) -> dict[str, Any] | None:
    """The state in `path` (None when there is none), checked for shape and version."""
    if not path.exists():
        return None
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (ValueError, RecursionError) as exc:
        raise StateFileError(f"{path} is not a state file (not JSON: {type(exc).__name__})") from None
    if not isinstance(data, dict):
        raise StateFileError(f"{path} is not a state file (a JSON {type(data).__name__}, not an object)")
    found = data.get("version")
    if found != version:
        raise StateFileError(
            f"{path} was written by another version of the emulator (state version {found!r}, this one reads {version})"
        )
    for key in ("phone_numbers", "agents", "secrets", "batch_calls", "conversations"):
        items = data.get(key, [])
        if not isinstance(items, list) or not all(isinstance(item, dict) for item in items):
            raise StateFileError(f"{path} is a damaged state file ({key} is not a list of objects)")
    if not isinstance(data.get("settings", {}), dict):
        raise StateFileError(f"{path} is a damaged state file (settings is not an object)")
    return data


def key_file(state: Path) -> Path:
    """Where the fingerprint key lives: beside the state, never in it (a state file alone cannot be
    used to check a guessed secret offline)."""
    return state.with_name(state.name + ".key")


def load_or_create_key(state: Path, fresh: str) -> str:
    path = key_file(state)
    try:
        found = path.read_text(encoding="ascii").strip()
    except FileNotFoundError:
        found = ""
    if found:
        return found
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="ascii") as handle:
        handle.write(fresh + "\n")
    return fresh
