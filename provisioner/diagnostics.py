"""Located problems in a manifest, and how they are shown.

A `Diagnostic` is one error or warning at a file position. Every stage that reads a manifest
(loading, templating, schema, semantic rules) produces them; the loader collects them all and
raises `ManifestInvalid` once, so a user sees every problem in one run.

Messages never contain a secret value: rules that look at a `${VAR}`'s value name the variable,
never what it holds.
"""

from __future__ import annotations

import difflib
import json
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, replace
from typing import Literal

from provisioner.errors import ManifestError

Severity = Literal["error", "warning"]


@dataclass(frozen=True)
class Diagnostic:
    """One problem. `line` and `column` are 1-based; `code` is the short rule id (e.g. `e164`)."""

    severity: Severity
    message: str
    file: str
    line: int
    column: int
    code: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.column}: {self.severity}: {self.message}"

    def as_error(self) -> Diagnostic:
        """The same problem promoted to an error (`--strict`)."""
        return replace(self, severity="error")

    def to_dict(self) -> dict[str, object]:
        return asdict(self)


class ManifestInvalid(ManifestError):
    """The manifest has at least one error. Carries every diagnostic found, errors and warnings."""

    def __init__(self, diagnostics: Sequence[Diagnostic]) -> None:
        self.diagnostics: list[Diagnostic] = sort(diagnostics)
        errors = [d for d in self.diagnostics if d.severity == "error"]
        summary = str(errors[0]) if errors else "manifest is invalid"
        more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
        super().__init__(summary + more)

    @property
    def errors(self) -> list[Diagnostic]:
        return [d for d in self.diagnostics if d.severity == "error"]


def sort(diagnostics: Iterable[Diagnostic]) -> list[Diagnostic]:
    """File order, without duplicates (the same rule can be reached twice, e.g. per environment)."""
    unique = {(d.file, d.line, d.column, d.severity, d.message): d for d in diagnostics}
    return sorted(unique.values(), key=lambda d: (d.file, d.line, d.column, d.severity != "error", d.message))


def has_errors(diagnostics: Iterable[Diagnostic]) -> bool:
    return any(d.severity == "error" for d in diagnostics)


def render_text(diagnostics: Sequence[Diagnostic]) -> str:
    """One `FILE:LINE:COL: severity: message` line per diagnostic, then a summary line."""
    return "".join(f"{d}\n" for d in diagnostics) + summary(diagnostics) + "\n"


def summary(diagnostics: Sequence[Diagnostic]) -> str:
    """`valid: 0 errors, 2 warnings` or `invalid: ...`."""
    errors = sum(d.severity == "error" for d in diagnostics)
    verdict = "invalid" if errors else "valid"
    return f"{verdict}: {_count(errors, 'error')}, {_count(len(diagnostics) - errors, 'warning')}"


def render_json(diagnostics: Sequence[Diagnostic], *, file: str) -> str:
    """A stable, machine-readable document for CI annotations."""
    errors = sum(d.severity == "error" for d in diagnostics)
    document = {
        "file": file,
        "valid": errors == 0,
        "errors": errors,
        "warnings": len(diagnostics) - errors,
        "diagnostics": [d.to_dict() for d in diagnostics],
    }
    return json.dumps(document, indent=2) + "\n"


def render_github(diagnostics: Sequence[Diagnostic]) -> str:
    """GitHub Actions workflow commands, one per diagnostic: `::error file=F,line=L,col=C::message`.

    GitHub shows them as annotations on the pull request's diff. Escaping follows the runner's
    rules (actions/toolkit `command.ts`): in the message `%`, CR and LF; in a property value also
    `:` and `,`, which would otherwise end the property or the property list.
    """
    return "".join(
        f"::{d.severity} file={_escape_property(d.file)},line={d.line},col={d.column}::{_escape_data(d.message)}\n"
        for d in diagnostics
    )


def _escape_data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _escape_property(text: str) -> str:
    return _escape_data(text).replace(":", "%3A").replace(",", "%2C")


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


def did_you_mean(word: str, options: Iterable[str]) -> str:
    """`; did you mean 'x'?` for the closest option (by spelling or as a prefix), or ``."""
    candidates = list(options)
    close = difflib.get_close_matches(word, candidates, n=1, cutoff=0.6)
    if not close and len(word) >= 3:
        close = [c for c in candidates if c.startswith(word)][:1]
    return f"; did you mean '{close[0]}'?" if close else ""
