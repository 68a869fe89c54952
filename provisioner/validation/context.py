"""What every rule receives: the manifest, where things are, and where to report."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from provisioner import secrets
from provisioner.diagnostics import Diagnostic, did_you_mean
from provisioner.locate import At, SourceMap
from provisioner.manifest import Manifest

__all__ = ["Context", "did_you_mean"]


@dataclass
class Context:
    manifest: Manifest
    source: SourceMap
    environ: Mapping[str, str]
    # Entries that failed the schema (already reported): section -> names; an empty set means
    # the whole section was unreadable. References to them are not reported again.
    broken: dict[str, set[str]] = field(default_factory=dict)
    found: list[Diagnostic] = field(default_factory=list)

    def error(self, path: Sequence[str | int], message: str, code: str, at: At = "value") -> None:
        self.found.append(self.source.error(path, message, code, at))

    def warning(self, path: Sequence[str | int], message: str, code: str, at: At = "value") -> None:
        self.found.append(self.source.warning(path, message, code, at))

    def line(self, path: Sequence[str | int]) -> int:
        return self.source.position(path)[0]

    def is_broken(self, section: str, name: str) -> bool:
        names = self.broken.get(section)
        return names is not None and (not names or name in names)

    def value_to_check(self, value: str) -> tuple[str | None, str]:
        """(value, how to name it) for a format check. A `${VAR}` reference is checked through
        the variable's value when set (skipped when not), and is then named, never shown."""
        names = secrets.references(value)
        if not names:
            return value, f"'{value}'"
        shown = "the value of " + ", ".join(f"${{{name}}}" for name in names)
        if secrets.unset(value, self.environ):
            return None, shown
        return secrets.resolve(value, self.environ), shown
