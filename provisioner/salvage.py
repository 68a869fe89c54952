"""What is left of a manifest once the parts that fail the schema are cut out.

When the models reject a file, the semantic rules (`provisioner.validation`) should still run on
everything that is valid on its own, so one run shows every problem instead of one layer at a
time. `salvage` cuts the smallest part it can around each schema error and validates again,
until what is left is a `Manifest`:

- an unknown key goes, and the entry that held it stays (a misspelt `lable:` keeps its number);
- a wrong value goes, and its field falls back to its default when it has one;
- when that leaves a required field missing, the mapping that needed it goes too, up to the
  whole entry (`phone_numbers.main`) or the whole top-level key (`workspace`);
- a list item is never cut alone: later items would move up and rules would report them at the
  wrong index, so the whole list goes instead.

The cut paths are returned so rules can tell "absent" from "cut because it was broken" (a
reference to a cut agent is not an unknown agent). The schema errors themselves are reported by
the caller from the first validation; nothing here produces messages.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError
from pydantic_core import ErrorDetails

from provisioner import schema_errors
from provisioner.manifest import Manifest

Path = tuple[Any, ...]
# Every round cuts at least one part, so this only bounds pathological inputs (each round
# re-validates the whole document).
_MAX_ROUNDS = 64


@dataclass(frozen=True)
class Salvaged:
    manifest: Manifest
    cut: frozenset[Path]  # document paths removed (entries, fields, whole lists)


def salvage(data: Mapping[Any, Any]) -> Salvaged | None:
    """The valid rest of `data` (a document the models rejected), or None when nothing sensible
    is left: the version is not 1, or the document itself is the problem."""
    document = _plain(data)
    if not _version_is_one(document):
        return None
    document["version"] = 1  # a missing or quoted version still reads as a version 1 file
    cut: set[Path] = set()
    for _ in range(_MAX_ROUNDS):
        try:
            return Salvaged(Manifest.model_validate(document), frozenset(cut))
        except ValidationError as error:
            found = error.errors(include_url=False)
        targets = {t for t in (_target(document, e) for e in found) if t is not None}
        # Stop when the document itself is the problem, or nothing could be cut (no progress).
        # A list, not a generator: every target must be removed, not only up to the first.
        if () in targets or not any([_remove(document, t) for t in targets]):
            return None
        cut |= targets
    return None


def _version_is_one(document: dict[Any, Any]) -> bool:
    """Missing, 1 or "1": the rules of version 1 apply. Anything else is another format."""
    value = document.get("version", 1)
    return (value == 1 and not isinstance(value, bool)) or value == "1"


def _target(document: Any, error: ErrorDetails) -> Path | None:
    """The part to cut for one error (None: nothing to cut, e.g. an already cut part)."""
    path, _, _ = schema_errors.resolve(error["loc"])
    if path == ["version"]:  # already set to 1 by the caller
        return None
    # A key of the wrong type: its whole entry goes. A missing key: there is nothing at the path
    # to cut, so the mapping that needs it goes.
    if (path and path[-1] == "[key]") or error["type"] == "missing":
        path = path[:-1]
    path = _outside_lists(document, path)
    if not path:
        return ()
    return tuple(path) if _exists(document, path) else None


def _outside_lists(document: Any, path: list[Any]) -> list[Any]:
    """The path cut back so that it ends at a mapping key, not at or inside a list item."""
    current = document
    for depth, part in enumerate(path):
        if isinstance(current, list):
            return path[:depth]
        if not isinstance(current, dict) or part not in current:
            return path
        current = current[part]
    return path


def _exists(document: Any, path: Sequence[Any]) -> bool:
    current = document
    for part in path:
        if not isinstance(current, dict) or part not in current:
            return False
        current = current[part]
    return True


def _remove(document: dict[Any, Any], path: Path) -> bool:
    if not path or not _exists(document, path):
        return False
    parent: Any = document
    for part in path[:-1]:
        parent = parent[part]
    del parent[path[-1]]
    return True


def _plain(value: Any) -> Any:
    """A deep copy as plain dicts and lists (the marked originals keep the positions)."""
    if isinstance(value, dict):
        return {key: _plain(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_plain(item) for item in value]
    return value
