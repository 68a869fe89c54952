"""One check's outcome: `ok`, `warn` or `fail`, what was checked, and the fix when it is not ok.

Messages never hold a secret value: they name variables and hosts, never what a variable holds.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Literal

Status = Literal["ok", "warn", "fail"]
FORMAT_VERSION = "1.0"  # of `doctor`/`webhook test`/`endpoints --format json`


@dataclass(frozen=True)
class Check:
    name: str  # the kind of check, e.g. "api-key", "variable", "trunk-tls"
    subject: str  # what it looked at: a variable name, an agent alias, host:port
    status: Status
    message: str
    fix: str | None = None

    def as_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "subject": self.subject,
            "status": self.status,
            "message": self.message,
            "fix": self.fix,
        }


def ok(name: str, subject: str, message: str) -> Check:
    return Check(name, subject, "ok", message)


def warn(name: str, subject: str, message: str, fix: str | None = None) -> Check:
    return Check(name, subject, "warn", message, fix)


def fail(name: str, subject: str, message: str, fix: str | None = None) -> Check:
    return Check(name, subject, "fail", message, fix)


def any_failed(checks: Iterable[Check]) -> bool:
    return any(c.status == "fail" for c in checks)


def summary(checks: Iterable[Check]) -> dict[str, int]:
    counts = {"ok": 0, "warn": 0, "fail": 0}
    for check in checks:
        counts[check.status] += 1
    return counts
