"""The plan: a data object (renderers are separate) of ordered, comparable resource changes.

Changes are sorted at construction in the order apply follows them: secrets, webhook and
settings, number imports, trunk and label updates, assignments, agent telephony settings, deletes
last. Safety rules (deletes over `max_deletes`, any replace) live here, not in the operator.
The plan carries no secret values: views hold `${VAR}` references or masks only.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

from provisioner.diff import FieldChange

Action = Literal["create", "update", "replace", "delete", "no-op"]
FORMAT_VERSION = "1.1"  # 1.1: fields[].op (add / remove / change); readers check the major only

# Apply order (phase): lower first. Deletes always last.
PHASE_SECRETS = 0
PHASE_SETTINGS = 1
PHASE_IMPORTS = 2
PHASE_UPDATES = 3
PHASE_ASSIGNMENTS = 4
PHASE_AGENTS = 5
PHASE_DELETES = 6
_ACTION_ORDER = {"replace": 0, "create": 1, "update": 2, "delete": 3, "no-op": 4}


def digest(value: Any) -> str:
    """SHA-256 over canonical JSON: stable across runs and machines."""
    blob = json.dumps(value, sort_keys=True, separators=(",", ":"), default=str)
    return "sha256:" + hashlib.sha256(blob.encode()).hexdigest()


@dataclass(frozen=True)
class ResourceChange:
    address: str  # e.g. phone_number.support-line, agent.support, workspace.pre_call_webhook
    kind: Literal["secret", "workspace_webhook", "phone_number", "agent"]
    name: str  # manifest alias, secret name, or the E.164 of an undeclared number
    action: Action
    before: dict[str, Any] | None
    after: dict[str, Any] | None
    fields: tuple[FieldChange, ...] = ()
    live_id: str | None = None
    reason: str | None = None  # why a replace (or a delete) is planned
    depends_on: tuple[str, ...] = ()
    live_digest: str = ""
    phase: int = PHASE_UPDATES
    notes: tuple[str, ...] = ()  # plain-words remarks, e.g. write-only values

    @property
    def sort_key(self) -> tuple[int, int, str]:
        return (self.phase, _ACTION_ORDER[self.action], self.address)

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["fields"] = [asdict(f) for f in self.fields]
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ResourceChange:
        values = dict(data)
        values["fields"] = tuple(FieldChange(**f) for f in data.get("fields", []))
        values["depends_on"] = tuple(data.get("depends_on", []))
        values["notes"] = tuple(data.get("notes", []))
        return cls(**values)


@dataclass(frozen=True)
class Unmanaged:
    """A live number the manifest does not declare: listed, never touched (unless prune)."""

    number: str
    label: str
    provider: str
    phone_number_id: str
    agent_id: str | None


@dataclass
class Plan:
    changes: list[ResourceChange]
    unmanaged: list[Unmanaged] = field(default_factory=list)
    manifest_digest: str = ""
    workspace: dict[str, str] = field(default_factory=dict)  # api_url and key_fingerprint only
    max_deletes: int = 0
    prune: bool = False
    notes: list[str] = field(default_factory=list)
    targets: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.changes = sorted(self.changes, key=lambda c: c.sort_key)
        self.unmanaged = sorted(self.unmanaged, key=lambda u: u.number)

    @property
    def actionable(self) -> list[ResourceChange]:
        return [c for c in self.changes if c.action != "no-op"]

    @property
    def has_changes(self) -> bool:
        return bool(self.actionable)

    def counts(self) -> dict[str, int]:
        counts = {"create": 0, "update": 0, "replace": 0, "delete": 0, "no-op": 0}
        for change in self.changes:
            counts[change.action] += 1
        return counts

    def number_deletes(self) -> list[ResourceChange]:
        return [c for c in self.changes if c.kind == "phone_number" and c.action == "delete"]

    def blocked(self, *, allow_deletes: bool = False, allow_replace: bool = False) -> list[str]:
        """Reasons a safety rule refuses this plan; empty when it may be applied."""
        reasons = []
        deletes = self.number_deletes()
        if len(deletes) > self.max_deletes and not allow_deletes:
            reasons.append(
                f"{len(deletes)} phone number deletion(s) exceed workspace.max_deletes ({self.max_deletes}); "
                "re-run with --allow-deletes to delete them"
            )
        for change in self.changes:
            if change.action == "replace" and not allow_replace:
                reasons.append(f"{change.address} must be replaced ({change.reason}); re-run with --allow-replace")
        return reasons

    def change(self, address: str) -> ResourceChange | None:
        return next((c for c in self.changes if c.address == address), None)

    def checksum(self) -> str:
        """Digest of the planned changes alone: equal plans have equal checksums."""
        return digest([c.to_dict() for c in self.actionable])

    def to_dict(self) -> dict[str, Any]:
        return {
            "format_version": FORMAT_VERSION,
            "changes": [c.to_dict() for c in self.changes],
            "unmanaged": [asdict(u) for u in self.unmanaged],
            "manifest_digest": self.manifest_digest,
            "workspace": dict(self.workspace),
            "max_deletes": self.max_deletes,
            "prune": self.prune,
            "notes": list(self.notes),
            "targets": list(self.targets),
            "checksum": self.checksum(),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Plan:
        major = str(data.get("format_version", "0")).split(".")[0]
        if major != FORMAT_VERSION.split(".")[0]:
            raise ValueError(f"unsupported plan format_version {data.get('format_version')!r}")
        return cls(
            changes=[ResourceChange.from_dict(c) for c in data.get("changes", [])],
            unmanaged=[Unmanaged(**u) for u in data.get("unmanaged", [])],
            manifest_digest=data.get("manifest_digest", ""),
            workspace=dict(data.get("workspace", {})),
            max_deletes=int(data.get("max_deletes", 0)),
            prune=bool(data.get("prune", False)),
            notes=list(data.get("notes", [])),
            targets=list(data.get("targets", [])),
        )
