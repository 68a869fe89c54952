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

from provisioner.plan import Plan

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


def write(path: Path, planfile: PlanFile) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(planfile.to_dict(), indent=2, sort_keys=True) + "\n", encoding="utf-8")
    os.replace(tmp, path)


def read(path: Path) -> PlanFile:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise PlanFileError(f"cannot read plan file {path}: {exc}") from exc
    if not isinstance(data, dict) or data.get("kind") != KIND:
        raise PlanFileError(f"{path} is not a telephony plan file")
    try:
        plan = Plan.from_dict(data["plan"])
    except (KeyError, TypeError, ValueError) as exc:
        raise PlanFileError(f"{path}: malformed plan: {exc}") from exc
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
