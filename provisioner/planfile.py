"""Plan files: `plan --out FILE` writes one, `apply FILE` applies it only if nothing moved.

A plan file holds the planned changes, a digest of the rendered manifest, the workspace it was
made against (API URL and key fingerprint, never the key), the live-state digest of every
resource it touches, and how the manifest was loaded (path, --env, --var) so apply can load the
same thing. It holds no secret values: views carry `${VAR}` references and masks only.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from provisioner.plan import FORMAT_VERSION, Plan

KIND = "telephony-plan"


class PlanFileError(Exception):
    pass


@dataclass
class PlanFile:
    plan: Plan
    manifest_path: str
    env: str | None = None
    variables: dict[str, str] = field(default_factory=dict)
    rotate_secrets: bool = False

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": KIND,
            "manifest": {"path": self.manifest_path, "env": self.env, "vars": dict(self.variables)},
            "options": {"rotate_secrets": self.rotate_secrets},
            "plan": self.plan.to_dict(),
        }


def _reason(exc: OSError) -> str:
    return exc.strerror or str(exc)


def check_writable(path: Path) -> None:
    """Fail before any API call when `plan --out PATH` could not be written."""
    if path.is_dir():
        raise PlanFileError(f"cannot write plan file {path}: it is a directory")
    if not path.parent.is_dir():
        raise PlanFileError(f"cannot write plan file {path}: directory {path.parent} does not exist")


def write(path: Path, planfile: PlanFile) -> None:
    """Write atomically (a temporary file renamed into place); a failure leaves no partial file."""
    tmp = path.with_name(path.name + ".tmp")
    try:
        tmp.write_text(json.dumps(planfile.to_dict(), indent=2, sort_keys=True) + "\n", encoding="utf-8")
        os.replace(tmp, path)
    except OSError as exc:
        raise PlanFileError(f"cannot write plan file {path}: {_reason(exc)}") from exc
    finally:
        tmp.unlink(missing_ok=True)


def _version_error(path: Path, found: object) -> PlanFileError:
    major = str(found).split(".")[0]
    ours = FORMAT_VERSION.split(".")[0]
    newer = major.isdigit() and int(major) > int(ours)
    made_by = "a newer" if newer else "an older"
    return PlanFileError(
        f"{path} was made by {made_by} version of telephony (plan format {found}; this version reads "
        f"{ours}.x): make a new plan with this version"
    )


def read(path: Path) -> PlanFile:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise PlanFileError(f"cannot read plan file {path}: {_reason(exc)}") from exc
    except ValueError as exc:  # not UTF-8: a binary file
        raise PlanFileError(f"{path} is not a telephony plan file (made by `telephony plan --out`)") from exc
    try:
        data = json.loads(text)
    except ValueError:
        data = None
    if not isinstance(data, dict) or data.get("kind") != KIND:
        hint = "; to apply a manifest use `telephony apply -f FILE`" if path.suffix in (".yaml", ".yml") else ""
        raise PlanFileError(f"{path} is not a telephony plan file (made by `telephony plan --out`){hint}")
    body = data.get("plan")
    if not isinstance(body, dict):
        raise PlanFileError(f"{path} is a damaged telephony plan file (no plan); make a new plan")
    found = body.get("format_version")
    if not isinstance(found, str | int | float):
        raise PlanFileError(f"{path} is a damaged telephony plan file (no format_version); make a new plan")
    if str(found).split(".")[0] != FORMAT_VERSION.split(".")[0]:
        raise _version_error(path, found)
    try:
        plan = Plan.from_dict(body)
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise PlanFileError(f"{path} is a damaged telephony plan file ({exc}); make a new plan") from exc
    manifest = data.get("manifest") or {}
    return PlanFile(
        plan=plan,
        manifest_path=str(manifest.get("path", "telephony.yaml")),
        env=manifest.get("env"),
        variables=dict(manifest.get("vars") or {}),
        rotate_secrets=bool((data.get("options") or {}).get("rotate_secrets", False)),
    )


def staleness(saved: Plan, fresh: Plan) -> list[str]:
    """Why `saved` no longer describes what apply would do; empty when it is still current."""
    reasons = []
    if saved.workspace != fresh.workspace:
        reasons.append(
            f"the workspace differs: plan made against {saved.workspace.get('api_url')} "
            f"(key {saved.workspace.get('key_fingerprint')}), now {fresh.workspace.get('api_url')} "
            f"(key {fresh.workspace.get('key_fingerprint')})"
        )
    if saved.manifest_digest != fresh.manifest_digest:
        reasons.append("the manifest changed since the plan was made")
    now = {c.address: c for c in fresh.changes}
    for change in saved.actionable:
        current = now.get(change.address)
        if current is None or current.live_digest != change.live_digest:
            reasons.append(f"{change.address} changed in the workspace since the plan was made")
    planned = {c.address for c in saved.actionable}
    for change in fresh.actionable:
        if change.address not in planned:
            reasons.append(f"{change.address} now needs a change the plan does not contain")
    if not reasons and saved.checksum() != fresh.checksum():
        reasons.append("the planned changes differ from a fresh plan")
    return reasons
