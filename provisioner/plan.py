"""The plan: a data object (renderers are separate) of ordered, comparable resource changes.

Changes are sorted at construction in the order apply follows them: secrets, webhook and
settings, number imports, trunk and label updates, assignments, agent telephony settings, deletes
last. Safety rules (deletes over `max_deletes`, any replace) live here, not in the operator.
The plan carries no secret values: views hold `${VAR}` references or masks only.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from typing import Any

from provisioner.changes import (
    PHASE_AGENTS,
    PHASE_ASSIGNMENTS,
    PHASE_DELETES,
    PHASE_IMPORTS,
    PHASE_SECRETS,
    PHASE_SETTINGS,
    PHASE_UPDATES,
    Action,
    Change,
    FieldChange,
)

__all__ = [
    "PHASE_AGENTS",
    "PHASE_ASSIGNMENTS",
    "PHASE_DELETES",
    "PHASE_IMPORTS",
    "PHASE_SECRETS",
    "PHASE_SETTINGS",
    "PHASE_UPDATES",
    "Action",
    "Blocked",
    "FieldChange",
    "Plan",
    "Secrets",
    "Unmanaged",
    "digest",
]

# Of `--format json`. 1.3: secrets {needed, unset}, blocked as objects; 1.2: reason_code; 1.1: fields[].op.
# Readers check the major only.
FORMAT_VERSION = "1.3"
SANDBOX_SCHEME = "sandbox://"  # a plan's workspace api_url starts with it when made with --sandbox


def digest(value: Any) -> str:
    """SHA-256 over canonical JSON: stable across runs and machines."""
    blob = json.dumps(value, sort_keys=True, separators=(",", ":"), default=str)
    return "sha256:" + hashlib.sha256(blob.encode()).hexdigest()


@dataclass(frozen=True)
class Unmanaged:
    """A live number the manifest does not declare: listed, never touched (unless prune)."""

    number: str
    label: str
    provider: str
    phone_number_id: str
    agent_id: str | None


@dataclass(frozen=True)
class Blocked:
    """One safety rule refusing the plan: which rule, the change it concerns (None when it concerns
    several, as max_deletes does) and the sentence a reviewer reads."""

    rule: str  # "max_deletes" or "replace"
    address: str | None
    message: str

    def __str__(self) -> str:
        return self.message


@dataclass(frozen=True)
class Secrets:
    """The `${VAR}` names apply will need for the plan's changes, and those unset where the plan ran.

    Computed by `library.secrets_listing` (the same check apply makes before its first write), kept
    on the plan so a plan file shows it again. In the sandbox nothing is unset: every `${VAR}` is
    sent as a dummy value there.
    """

    needed: tuple[str, ...] = ()
    unset: tuple[str, ...] = ()


@dataclass
class Plan:
    changes: list[Change]
    unmanaged: list[Unmanaged] = field(default_factory=list)
    manifest_digest: str = ""
    workspace: dict[str, str] = field(default_factory=dict)  # api_url and key_fingerprint only
    max_deletes: int = 0
    prune: bool = False
    notes: list[str] = field(default_factory=list)
    targets: list[str] = field(default_factory=list)
    agent_aliases: dict[str, str] = field(default_factory=dict)  # agent id -> the alias views show
    # number address -> the `sip_trunks:` name it uses (views hold the trunk's values, not its name)
    number_trunks: dict[str, str] = field(default_factory=dict)
    secrets: Secrets | None = None  # set where the plan is made for a run (plan, apply); None: not computed

    def __post_init__(self) -> None:
        self.changes = sorted(self.changes, key=lambda c: c.sort_key)
        self.unmanaged = sorted(self.unmanaged, key=lambda u: u.number)

    @property
    def actionable(self) -> list[Change]:
        return [c for c in self.changes if c.action != "no-op"]

    @property
    def has_changes(self) -> bool:
        return bool(self.actionable)

    def counts(self) -> dict[str, int]:
        counts = {"create": 0, "update": 0, "replace": 0, "delete": 0, "no-op": 0}
        for change in self.changes:
            counts[change.action] += 1
        return counts

    def number_deletes(self) -> list[Change]:
        return [c for c in self.changes if c.kind == "phone_number" and c.action == "delete"]

    @property
    def sandbox(self) -> bool:
        """Whether the plan was made against the sandbox (`--sandbox`)."""
        return self.workspace.get("api_url", "").startswith(SANDBOX_SCHEME)

    def blocked(self, *, allow_deletes: bool = False, allow_replace: bool = False) -> list[Blocked]:
        """The safety rules refusing this plan; empty when it may be applied."""
        reasons = []
        deletes = self.number_deletes()
        if len(deletes) > self.max_deletes and not allow_deletes:
            message = (
                f"{len(deletes)} phone number deletion(s) exceed workspace.max_deletes ({self.max_deletes}); "
                "re-run with --allow-deletes to delete them"
            )
            reasons.append(Blocked("max_deletes", None, message))
        for change in self.changes:
            if change.action == "replace" and not allow_replace:
                message = f"{change.address} must be replaced ({change.reason_text}); re-run with --allow-replace"
                reasons.append(Blocked("replace", change.address, message))
        return reasons

    def change(self, address: str) -> Change | None:
        return next((c for c in self.changes if c.address == address), None)

    def checksum(self) -> str:
        """Digest of the planned changes alone: equal plans have equal checksums."""
        return digest([c.model_dump(mode="json") for c in self.actionable])
