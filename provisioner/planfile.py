"""Plan files: `plan --out FILE` writes one, `apply FILE` executes it only if nothing moved.

A plan file holds the typed changes (each with the request it will send, secrets as `${VAR}`
text only), a digest of the rendered manifest, the workspace it was made against (API URL and key
fingerprint, never the key), and how the manifest was loaded (--env, --var) so apply can load the
same thing. `apply FILE` re-reads the manifest named on its own command line (never a path taken
from the file), observes the workspace, rebuilds the plan and refuses (exit 5) unless the rebuilt
changes equal the saved ones: a plan file can never add a request the reviewed manifest does not
produce.

Its format version is its own (`PLAN_FILE_VERSION`), separate from `--format json`'s; both are
documented by JSON Schemas under `schemas/`.
"""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import asdict, dataclass, field
from enum import Enum
from pathlib import Path
from typing import Any, cast

from pydantic import TypeAdapter, ValidationError

from provisioner.changes import AnyChange, Change
from provisioner.errors import ConfigError, StalePlan
from provisioner.plan import Plan, Secrets, Unmanaged
from provisioner.redact import display_workspace
from provisioner.state import Marker

KIND = "telephony-plan"
PLAN_FILE_VERSION = "2.0"  # 2.0: typed changes with their requests; 1.x files (views only) are refused
_CHANGES: TypeAdapter[list[AnyChange]] = TypeAdapter(list[AnyChange])
_MARKER_KEY = "$marker"


class PlanFileError(ConfigError):
    pass


@dataclass
class PlanFile:
    plan: Plan
    manifest_path: str  # informational: apply uses the manifest named on its own command line
    env: str | None = None
    variables: dict[str, str] = field(default_factory=dict)
    rotate_secrets: bool = False

    def to_dict(self) -> dict[str, Any]:
        plan = self.plan
        return {
            "kind": KIND,
            "plan_file_version": PLAN_FILE_VERSION,
            "manifest": {"path": self.manifest_path, "env": self.env, "vars": dict(self.variables)},
            "options": {"rotate_secrets": self.rotate_secrets},
            "plan": {
                "changes": _encode(_CHANGES.dump_python(cast(Any, plan.changes))),
                "unmanaged": [asdict(u) for u in plan.unmanaged],
                "manifest_digest": plan.manifest_digest,
                "workspace": display_workspace(plan.workspace),
                "max_deletes": plan.max_deletes,
                "prune": plan.prune,
                "notes": list(plan.notes),
                "targets": list(plan.targets),
                "agent_aliases": dict(plan.agent_aliases),
                "number_trunks": dict(plan.number_trunks),
                **({"secrets": asdict(plan.secrets)} if plan.secrets is not None else {}),
                "checksum": plan.checksum(),
            },
        }


def _encode(value: Any) -> Any:
    """Plain JSON, with markers kept apart from strings so `show` prints them as `plan` did."""
    if isinstance(value, Marker):
        return {_MARKER_KEY: str(value)}
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, dict):
        return {str(k): _encode(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_encode(v) for v in value]
    return value


def _decode(value: Any, depth: int = 0) -> Any:
    if depth > 64:
        raise ValueError("nested too deeply")
    if isinstance(value, dict):
        if set(value) == {_MARKER_KEY} and isinstance(value[_MARKER_KEY], str):
            return Marker(value[_MARKER_KEY])
        return {k: _decode(v, depth + 1) for k, v in value.items()}
    if isinstance(value, list):
        return [_decode(v, depth + 1) for v in value]
    return value


def _reason(exc: OSError) -> str:
    return exc.strerror or str(exc)


STDOUT = Path("-")  # `plan --out -`: the plan file on stdout, the human plan on stderr


def check_writable(path: Path) -> None:
    """Fail before any API call when `plan --out PATH` could not be written.

    A target that exists must be a regular file (never a symlink, device or FIFO: `--out
    /dev/stdout` would otherwise be replaced by a file), and its directory must be writable.
    """
    if path == STDOUT:
        return
    if path.is_symlink():
        raise PlanFileError(f"cannot write plan file {path}: it is a symbolic link; name a regular file")
    if path.is_dir():
        raise PlanFileError(f"cannot write plan file {path}: it is a directory")
    if path.exists() and not path.is_file():
        raise PlanFileError(
            f"cannot write plan file {path}: it exists and is not a regular file (use --out - for stdout)"
        )
    parent = path.parent
    if not parent.is_dir():
        raise PlanFileError(f"cannot write plan file {path}: directory {parent} does not exist")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise PlanFileError(f"cannot write plan file {path}: directory {parent} is not writable")


def dumps(planfile: PlanFile) -> str:
    return json.dumps(planfile.to_dict(), indent=2, ensure_ascii=False) + "\n"


def write(path: Path, planfile: PlanFile) -> None:
    """Write atomically through a new file made beside the target (mkstemp: never a path an attacker
    could have planted), renamed into place; a failure leaves no partial file."""
    check_writable(path)
    text = dumps(planfile)
    try:
        fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    except OSError as exc:
        raise PlanFileError(f"cannot write plan file {path}: {_reason(exc)}") from exc
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except OSError as exc:
        raise PlanFileError(f"cannot write plan file {path}: {_reason(exc)}") from exc
    finally:
        tmp.unlink(missing_ok=True)


def _version_error(path: Path, found: object) -> PlanFileError:
    major = str(found).split(".")[0]
    ours = PLAN_FILE_VERSION.split(".")[0]
    newer = major.isdigit() and int(major) > int(ours)
    made_by = "a newer" if newer else "an older"
    return PlanFileError(
        f"{path} was made by {made_by} version of telephony (plan file format {found}; this version reads "
        f"{ours}.x): make a new plan with this version"
    )


def _damaged(path: Path, why: str) -> PlanFileError:
    return PlanFileError(f"{path} is a damaged telephony plan file ({why}); make a new plan")


def read(path: Path) -> PlanFile:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise PlanFileError(f"cannot read plan file {path}: {_reason(exc)}") from exc
    except ValueError as exc:  # not UTF-8: a binary file
        raise PlanFileError(f"{path} is not a telephony plan file (made by `telephony plan --out`)") from exc
    try:
        data = json.loads(text)
    except (ValueError, RecursionError):
        data = None
    if not isinstance(data, dict) or data.get("kind") != KIND:
        hint = "; to apply a manifest use `telephony apply -f FILE`" if path.suffix in (".yaml", ".yml") else ""
        raise PlanFileError(f"{path} is not a telephony plan file (made by `telephony plan --out`){hint}")
    found = data.get(
        "plan_file_version",
        (data.get("plan") or {}).get("format_version") if isinstance(data.get("plan"), dict) else None,
    )
    if not isinstance(found, str | int | float):
        raise _damaged(path, "no plan_file_version")
    if str(found).split(".")[0] != PLAN_FILE_VERSION.split(".")[0]:
        raise _version_error(path, found)
    body = data.get("plan")
    if not isinstance(body, dict):
        raise _damaged(path, "no plan")
    try:
        plan = Plan(
            changes=list(_CHANGES.validate_python(_decode(body.get("changes", [])))),
            unmanaged=[Unmanaged(**u) for u in body.get("unmanaged", [])],
            manifest_digest=str(body.get("manifest_digest", "")),
            workspace=display_workspace({str(k): str(v) for k, v in dict(body.get("workspace", {})).items()}),
            max_deletes=int(body.get("max_deletes", 0)),
            prune=bool(body.get("prune", False)),
            notes=[str(n) for n in body.get("notes", [])],
            targets=[str(t) for t in body.get("targets", [])],
            agent_aliases={str(k): str(v) for k, v in dict(body.get("agent_aliases", {})).items()},
            number_trunks={str(k): str(v) for k, v in dict(body.get("number_trunks", {})).items()},
            secrets=_secrets(body.get("secrets")),
        )
        manifest = data.get("manifest") or {}
        options = data.get("options") or {}
        variables = {str(k): str(v) for k, v in dict(manifest.get("vars") or {}).items()}
        env = manifest.get("env")
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first.get("loc", ()))
        raise _damaged(path, f"{where}: {first.get('msg')}") from None
    except (KeyError, TypeError, ValueError, AttributeError, RecursionError) as exc:
        raise _damaged(path, type(exc).__name__) from None
    if body.get("checksum") != plan.checksum():
        raise StalePlan([f"{path} was edited after it was made (its checksum does not match its changes)"])
    return PlanFile(
        plan=plan,
        manifest_path=str(manifest.get("path", "telephony.yaml")),
        env=env if isinstance(env, str) else None,
        variables=variables,
        rotate_secrets=bool(options.get("rotate_secrets", False)),
    )


def _secrets(value: Any) -> Secrets | None:
    """The plan's secrets listing as saved (names only); None in files made before it existed."""
    if value is None:
        return None
    return Secrets(tuple(str(n) for n in value["needed"]), tuple(str(n) for n in value["unset"]))


def _comparable(changes: list[Change]) -> list[Any]:
    return [_encode(_CHANGES.dump_python(cast(Any, [c])))[0] for c in changes]


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
    if not reasons and _comparable(saved.changes) != _comparable(fresh.changes):
        reasons.append("the planned changes differ from a fresh plan")
    return reasons
