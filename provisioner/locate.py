"""From a manifest path (`phone_numbers.support-line.number`) to a file position.

`SourceMap` walks the marked YAML (`provisioner.yamlsource`) along a path and maps the rendered
line back to the template's line (`provisioner.templating`), so every diagnostic points at what
the user wrote.
"""

from __future__ import annotations

from collections.abc import Collection, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from provisioner.diagnostics import Diagnostic, Severity
from provisioner.templating import Rendered
from provisioner.yamlsource import Mark, MarkedDict, MarkedList

Path = tuple[str | int, ...]
At = Literal["value", "key"]


@dataclass(frozen=True)
class SourceMap:
    file: str
    data: Any
    rendered: Rendered

    def position(self, path: Sequence[str | int], at: At = "value") -> tuple[int, int]:
        """1-based (line, column) of the value at `path` (or of its key, `at="key"`).

        A path that leaves the document (a missing key) stops at the deepest value found; with
        `at="key"` that is the key that owns the mapping where something is missing.
        """
        mark = self._mark(path, at)
        return self.rendered.template_position(mark.line, mark.column)

    def diagnostic(
        self, path: Sequence[str | int], severity: Severity, message: str, code: str, at: At = "value"
    ) -> Diagnostic:
        line, column = self.position(path, at)
        return Diagnostic(severity, message, self.file, line, column, code)

    def error(self, path: Sequence[str | int], message: str, code: str, at: At = "value") -> Diagnostic:
        return self.diagnostic(path, "error", message, code, at)

    def warning(self, path: Sequence[str | int], message: str, code: str, at: At = "value") -> Diagnostic:
        return self.diagnostic(path, "warning", message, code, at)

    def plain_text(self, path: Sequence[str | int]) -> str | None:
        """The unquoted scalar text at `path` as written, if it was a plain scalar."""
        if not path:
            return None
        parent = self._value(path[:-1])
        if isinstance(parent, MarkedDict | MarkedList):
            return parent.plain.get(path[-1])  # type: ignore[arg-type]
        return None

    def _value(self, path: Sequence[str | int]) -> Any:
        current = self.data
        for part in path:
            in_dict = isinstance(current, dict) and part in current
            in_list = isinstance(current, list) and isinstance(part, int) and 0 <= part < len(current)
            if not (in_dict or in_list):
                return None
            current = current[part]
        return current

    def _mark(self, path: Sequence[str | int], at: At) -> Mark:
        current = self.data
        mark = getattr(current, "start", Mark(0, 0))
        key_mark = mark
        for part in path:
            if part == "[key]":
                return key_mark
            if isinstance(current, MarkedDict) and part in current:
                key_mark, mark = current.key_marks[part], current.value_marks[part]
                current = current[part]
            elif isinstance(current, MarkedList) and isinstance(part, int) and 0 <= part < len(current):
                key_mark = mark = current.item_marks[part]
                current = current[part]
            else:
                return key_mark if at == "key" else mark
        return key_mark if at == "key" else mark


def strings_at(data: Any, patterns: Collection[tuple[str, ...]], path: Path = ()) -> Iterator[tuple[Path, str]]:
    """The string values whose path matches one of `patterns` ("*" stands for any one key or
    index), in `walk_strings` order; branches no pattern can reach are not walked."""
    if isinstance(data, str):
        if any(len(pattern) == len(path) for pattern in patterns):
            yield path, data
        return
    depth = len(path)
    deeper = [pattern for pattern in patterns if len(pattern) > depth]
    if not deeper or not isinstance(data, dict | list):
        return
    children = data.items() if isinstance(data, dict) else enumerate(data)
    for key, value in children:
        matching = [pattern for pattern in deeper if pattern[depth] in ("*", str(key))]
        if matching:
            yield from strings_at(value, matching, (*path, key))


def walk_strings(data: Any, path: Path = ()) -> Iterator[tuple[Path, str]]:
    """Every string value (not keys) in the document, with its path."""
    if isinstance(data, str):
        yield path, data
    elif isinstance(data, dict):
        for key, value in data.items():
            yield from walk_strings(value, (*path, key))
    elif isinstance(data, list):
        for index, value in enumerate(data):
            yield from walk_strings(value, (*path, index))
