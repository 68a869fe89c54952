"""`apply --format json`: every step of an apply as one JSON document (schemas/apply-output.schema.json).

The text report stops listing applied steps at 50; this lists every step, in the order they
finished, so an automation never has to parse the text. Messages pass through `redact.scrub`
like everything else the CLI prints: an API error echoing a request holds no secret value here.
Its format version is its own (`APPLY_FORMAT_VERSION`); readers check the major version.
"""

from __future__ import annotations

import json
from typing import IO, Any

from provisioner.apply import ApplyReport, StepResult
from provisioner.plan import Plan
from provisioner.redact import display_workspace, scrub

APPLY_FORMAT_VERSION = "1.0"
OUTCOMES = ("applied", "mismatch", "failed", "skipped")  # StepResult.status; mismatch: read-back (exit 6)


def _step(result: StepResult) -> dict[str, Any]:
    return {
        "address": result.address,
        "action": result.action,
        "outcome": result.status,
        "error": scrub(result.message) if result.status != "applied" and result.message else None,
        "resource_id": result.resource_id,
        "warnings": [scrub(w) for w in result.warnings],
    }


def apply_json(
    plan: Plan | None,
    report: ApplyReport | None,
    exit_code: int,
    *,
    error: str | None = None,
    stopped: str | None = None,
    requests: tuple[int, int] | None = None,
) -> dict[str, Any]:
    """The document `apply --format json` prints. `report` is None when nothing was applied (no
    changes, or a refusal before the first write: then `error` says why, as stderr does)."""
    results = report.results if report is not None else []
    summary = {outcome: sum(1 for r in results if r.status == outcome) for outcome in OUTCOMES}
    return {
        "format_version": APPLY_FORMAT_VERSION,
        "workspace": display_workspace(plan.workspace) if plan is not None else {},
        "steps": [_step(r) for r in results],
        "summary": summary,
        "changed_anything": report.changed_anything if report is not None else False,
        "stopped": stopped,
        "error": scrub(error) if error else None,
        "api_requests": {"requests": requests[0], "retries": requests[1]} if requests is not None else None,
        "exit_code": int(exit_code),
    }


def write_apply_json(document: dict[str, Any], out: IO[str]) -> None:
    json.dump(document, out, indent=2, ensure_ascii=False)
    out.write("\n")
