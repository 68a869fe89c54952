"""What every rule receives: the manifest, where things are, and where to report."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from provisioner import grammar
from provisioner.diagnostics import Diagnostic, did_you_mean
from provisioner.locate import At, SourceMap
from provisioner.manifest import Manifest

__all__ = ["Context", "did_you_mean"]


@dataclass
class Context:
    manifest: Manifest
    source: SourceMap
    environ: Mapping[str, str]
    # Document paths the schema rejected (already reported) and cut out of `manifest`: an entry
    # (`phone_numbers.main`), a field, a whole section. Rules must not read their absence as
    # "not declared" (see `provisioner.salvage`).
    cut: frozenset[tuple[Any, ...]] = frozenset()
    found: list[Diagnostic] = field(default_factory=list)

    def error(self, path: Sequence[str | int], message: str, code: str, at: At = "value") -> None:
        self.found.append(self.source.error(path, message, code, at))

    def warning(self, path: Sequence[str | int], message: str, code: str, at: At = "value") -> None:
        self.found.append(self.source.warning(path, message, code, at))

    def line(self, path: Sequence[str | int]) -> int:
        return self.source.position(path)[0]

    def is_broken(self, section: str, name: str) -> bool:
        """Whether entry `name` of `section` is in the file but was cut (or its whole section was)."""
        return (section,) in self.cut or (section, name) in self.cut

    def unsure(self, *path: Any) -> bool:
        """Whether something at, under or above `path` was cut: what the manifest holds there is
        not what the file says, so a rule must not conclude from it (e.g. "no credentials")."""
        return any(c[: len(path)] == path or path[: len(c)] == c for c in self.cut)

    def raw(self, *path: Any) -> Any:
        """The value as written in the file at `path` (None when absent), for cut parts."""
        current = self.source.data
        for part in path:
            if not isinstance(current, dict) or part not in current:
                return None
            current = current[part]
        return current

    def value_to_check(self, path: Sequence[str | int], value: str) -> tuple[str | None, str]:
        """(value, how to name it) for a format check of the value at `path`. Where a `${VAR}`
        may stand (`grammar.may_hold_reference`) it is checked through the variable's value when
        set (skipped when not), and is then named, never shown. Anywhere else a reference is an
        error of its own (`validation.references`), so the format check is skipped."""
        names = grammar.references(value)
        if not names:
            return value, f"'{value}'"
        shown = "the value of " + ", ".join(f"${{{name}}}" for name in names)
        if not grammar.may_hold_reference(path) or grammar.unset_references(value, self.environ):
            return None, shown
        return grammar.resolve_references(value, self.environ), shown
