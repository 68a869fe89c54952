"""The typed plan: one small frozen class per kind of change, each carrying what it will send.

A change holds its address, the before/after views a reviewer reads, the field changes, an
enumerated reason, and its payload: the wire request (credentials still `${VAR}` text) or, where a
body depends on live values the tool does not own (agent sections), the owned-field edit that
`provisioner.api.codec` composes into a body from a GET made just before the write. Apply
dispatches on the class and sends the payload; it never goes back to the manifest.

Changes serialise to plain JSON (plan files) and back through pydantic, so a saved change equals
the change a fresh plan builds from the same manifest and workspace.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from provisioner.api import wire
from provisioner.api.codec import AgentEdit
from provisioner.state import AgentScope, WebhookState

Action = Literal["create", "update", "replace", "delete", "no-op"]
Kind = Literal["secret", "workspace_webhook", "phone_number", "agent"]

# Apply order (phase): lower first. Deletes always last.
PHASE_SECRETS = 0
PHASE_SETTINGS = 1
PHASE_IMPORTS = 2
PHASE_UPDATES = 3
PHASE_ASSIGNMENTS = 4
PHASE_AGENTS = 5
PHASE_DELETES = 6
_ACTION_ORDER = {"replace": 0, "create": 1, "update": 2, "delete": 3, "no-op": 4}


class Reason(StrEnum):
    """Why a change is planned (machine-readable; `reason_text` says it in words)."""

    CREATE_MISSING = "create_missing"
    UPDATE_DIFFERS = "update_differs"
    UPDATE_ROTATE = "update_rotate_secrets"
    REPLACE_PROVIDER_CHANGED = "replace_provider_changed"
    REPLACE_CALLER_ID_ONLY_CHANGED = "replace_caller_id_only_changed"
    REPLACE_ROTATE_TWILIO = "replace_rotate_twilio_credentials"
    DELETE_PRUNED = "delete_pruned"
    DELETE_DUPLICATE = "delete_duplicate"
    DELETE_UNUSED_SECRET = "delete_unused_secret"
    UNCHANGED = "unchanged"


class FieldChange(BaseModel):
    """One changed field: its dotted path in the view, the values before and after."""

    model_config = ConfigDict(frozen=True)

    path: str
    before: Any = None
    after: Any = None
    sensitive: bool = False
    note: str | None = None
    # "add": the path is absent before; "remove": absent after; "change": present on both sides
    # (a null is a value: an unassigned agent becoming assigned is a change). None: not from a diff.
    op: str | None = None


class Change(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    address: str  # e.g. phone_number.support-line, agent.support, workspace.pre_call_webhook
    kind: Kind
    name: str  # manifest alias, secret name, or the E.164 of an undeclared number
    action: Action
    reason: Reason
    reason_text: str | None = None  # shown beside a replace or a delete
    before: dict[str, Any] | None = None
    after: dict[str, Any] | None = None
    fields: tuple[FieldChange, ...] = ()
    live_id: str | None = None
    depends_on: tuple[str, ...] = ()
    live_digest: str = ""
    phase: int = PHASE_UPDATES
    notes: tuple[str, ...] = ()
    # What a reviewer must not miss (e.g. a webhook that will receive stored secrets at a new host).
    attention: tuple[str, ...] = ()

    @property
    def sort_key(self) -> tuple[int, int, str]:
        return (self.phase, _ACTION_ORDER[self.action], self.address)


class Unchanged(Change):
    """A managed resource that already matches (listed so counts and staleness see it)."""

    type: Literal["unchanged"] = "unchanged"
    action: Action = "no-op"
    reason: Reason = Reason.UNCHANGED


class SecretCreate(Change):
    type: Literal["secret_create"] = "secret_create"
    secret_name: str
    value_ref: str  # the `${VAR}` text, resolved when sent


class SecretRotate(Change):
    type: Literal["secret_rotate"] = "secret_rotate"
    secret_id: str
    secret_name: str
    value_ref: str


class SecretDelete(Change):
    type: Literal["secret_delete"] = "secret_delete"
    secret_id: str


class WebhookUpdate(Change):
    type: Literal["webhook_update"] = "webhook_update"
    webhook: WebhookState | None  # None clears it; secret ids are looked up when sent
    clear_first: bool = False  # headers go away: clear the webhook, then write it whole


class NumberImport(Change):
    type: Literal["number_import"] = "number_import"
    e164: str
    request: Annotated[wire.ImportRequest, Field(discriminator="provider")]
    settings: wire.UpdatePhoneNumberRequest | None = None  # what the import body cannot take
    manages_agent: bool = True


class NumberReplace(NumberImport):
    type: Literal["number_replace"] = "number_replace"  # type: ignore[assignment]
    delete_id: str


class NumberUpdate(Change):
    type: Literal["number_update"] = "number_update"
    number_id: str
    request: wire.UpdatePhoneNumberRequest
    manages_agent: bool = True


class NumberDelete(Change):
    type: Literal["number_delete"] = "number_delete"
    number_id: str


class AgentUpdate(Change):
    type: Literal["agent_update"] = "agent_update"
    agent_id: str
    edit: AgentEdit
    scope: AgentScope


AnyChange = Annotated[
    Unchanged
    | SecretCreate
    | SecretRotate
    | SecretDelete
    | WebhookUpdate
    | NumberImport
    | NumberReplace
    | NumberUpdate
    | NumberDelete
    | AgentUpdate,
    Field(discriminator="type"),
]
