"""Wire models of outbound calls and batch calling (names follow the official spec).

Kept apart from `wire.py` (the reconciler's models); the same base classes and rules: responses
ignore keys they do not know, requests forbid unknown keys and send only the fields that were set.
`tests/test_wire_calls_spec.py` checks every model here against the official OpenAPI spec.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import ConfigDict, Field

from provisioner.api.wire import Request, Response

BatchStatus = Literal["pending", "in_progress", "completed", "failed", "cancelled"]
RecipientStatus = Literal[
    "pending", "dispatched", "initiated", "in_progress", "completed", "failed", "cancelled", "voicemail"
]
RECIPIENT_STATUSES: tuple[str, ...] = RecipientStatus.__args__  # type: ignore[attr-defined]


# -- requests -----------------------------------------------------------------------------------


class ClientData(Request):
    """ConversationInitiationClientDataRequest: per-call dynamic variables and overrides."""

    dynamic_variables: dict[str, str | int | float | bool] | None = None
    conversation_config_override: dict[str, Any] | None = None


class OutboundCallRequest(Request):
    """Body of POST /v1/convai/twilio/outbound-call and /v1/convai/sip-trunk/outbound-call."""

    agent_id: str
    agent_phone_number_id: str
    to_number: str
    conversation_initiation_client_data: ClientData | None = None


class BatchRecipient(Request):
    """OutboundCallRecipient."""

    phone_number: str
    conversation_initiation_client_data: ClientData | None = None


class SubmitBatchRequest(Request):
    """Body of POST /v1/convai/batch-calling/submit."""

    call_name: str
    agent_id: str
    agent_phone_number_id: str
    recipients: list[BatchRecipient]
    scheduled_time_unix: int | None = None


# -- responses ----------------------------------------------------------------------------------


class TwilioCallResponse(Response):
    """TwilioOutboundCallResponse (the API writes `callSid` in camelCase)."""

    model_config = ConfigDict(extra="ignore", frozen=True, populate_by_name=True)

    success: bool
    message: str
    conversation_id: str | None = None
    call_sid: str | None = Field(None, alias="callSid")


class SipCallResponse(Response):
    """SIPTrunkOutboundCallResponse."""

    success: bool
    message: str
    conversation_id: str | None = None
    sip_call_id: str | None = None


class BatchCallResponse(Response):
    """BatchCallResponse: what submit, cancel, retry and the workspace list return."""

    id: str
    name: str
    agent_id: str
    status: BatchStatus
    phone_number_id: str | None = None
    phone_provider: str | None = None
    agent_name: str | None = None
    created_at_unix: int
    scheduled_time_unix: int
    last_updated_at_unix: int
    total_calls_scheduled: int = 0
    total_calls_dispatched: int = 0
    total_calls_finished: int = 0
    retry_count: int = 0


class BatchRecipientResponse(Response):
    """OutboundCallRecipientResponseModel."""

    id: str
    phone_number: str | None = None
    status: RecipientStatus
    updated_at_unix: int
    conversation_id: str | None = None


class BatchCallDetailedResponse(BatchCallResponse):
    """BatchCallDetailedResponse: the batch and every recipient."""

    recipients: list[BatchRecipientResponse]


class BatchCallsPage(Response):
    """WorkspaceBatchCallsResponse."""

    batch_calls: list[BatchCallResponse]
    next_doc: str | None = None
    has_more: bool = False
