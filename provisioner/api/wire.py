"""Typed wire models of the telephony requests and responses (names follow the official spec).

Responses ignore keys they do not know (the API adds fields) but check the shape of the ones the
tool reads, so a 2xx with the wrong body is one clear error, not a traceback later. Requests
forbid unknown keys and are serialised with `exclude_unset`: a field is sent only when a change
set it, so `None` on the wire is always deliberate (e.g. clearing the webhook).

Credential fields of requests (`sid`, `token`, `account_auth_token`, trunk `password`, a secret's
`value`) hold `${VAR}` reference text while a request sits in a plan; `provisioner.api.codec`
resolves them at the moment of sending.

`tests/test_wire_spec.py` checks every model here against the official OpenAPI spec.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, SerializerFunctionWrapHandler, model_serializer


class Response(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


class Request(BaseModel):
    """A request body. Only the fields a change set are serialised, everywhere (body, plan file,
    checksum): an unset field and a field set to null mean different things to the API."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    @model_serializer(mode="wrap")
    def _only_set_fields(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        data: dict[str, Any] = handler(self)
        # Constant discriminators (`type`, `provider`) are always sent, though never "set".
        keep = self.model_fields_set | {tag for tag in ("type", "provider") if tag in type(self).model_fields}
        return {key: value for key, value in data.items() if key in keep}

    def body(self) -> dict[str, Any]:
        """The JSON body."""
        return self.model_dump(mode="json")


# -- responses ----------------------------------------------------------------------------------


class PhoneNumberAgentInfo(Response):
    agent_id: str
    agent_name: str | None = None
    branch_id: str | None = None  # not expressible in the manifest (import lists it)
    environment: str | None = None


class OutboundTrunkResponse(Response):
    """GetPhoneNumberOutboundSIPTrunkConfigResponseModel."""

    address: str | None = None
    transport: str | None = None
    media_encryption: str | None = None
    headers: dict[str, str] | None = None
    attributes_to_headers: dict[str, str] | None = None
    enabled_codecs: list[str] | None = None
    has_auth_credentials: bool | None = None
    username: str | None = None


class InboundTrunkResponse(Response):
    """GetPhoneNumberInboundSIPTrunkConfigResponseModel."""

    allowed_addresses: list[str] | None = None
    allowed_numbers: list[str] | None = None
    media_encryption: str | None = None
    has_auth_credentials: bool | None = None
    username: str | None = None
    remote_domains: list[str] | None = None
    attributes_to_headers: dict[str, str] | None = None


class PhoneNumberResponse(Response):
    """GetPhoneNumber{Twilio,SIPTrunk,...}ResponseModel: the fields every provider shares, and the trunk's."""

    phone_number: str
    label: str
    phone_number_id: str
    provider: str = "twilio"
    supports_inbound: bool | None = None
    supports_outbound: bool | None = None
    assigned_agent: PhoneNumberAgentInfo | None = None
    provider_config: OutboundTrunkResponse | None = None
    outbound_trunk: OutboundTrunkResponse | None = None
    inbound_trunk: InboundTrunkResponse | None = None
    livekit_stack: str | None = None
    store_sip_messages: bool | None = None


class PhoneNumbersPage(Response):
    """GET /v1/convai/v2/phone-numbers."""

    phone_numbers: list[PhoneNumberResponse]
    next_cursor: str | None = None
    has_more: bool | None = None


class CreatePhoneNumberResponse(Response):
    phone_number_id: str


class SecretReference(BaseModel):
    """A webhook header stored in a workspace secret."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    secret_id: str


class EnvVarReference(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)
    env_var_label: str


HeaderWire = str | SecretReference | EnvVarReference


class WebhookWire(BaseModel):
    """ConversationInitiationClientDataWebhook (request and response)."""

    model_config = ConfigDict(extra="ignore", frozen=True)
    url: str
    request_headers: dict[str, HeaderWire] = Field(default_factory=dict)


class SettingsResponse(Response):
    """GetConvAISettingsResponseModel: the webhook the tool owns, and the settings it sends back
    unchanged (read-modify-write: a PATCH may reset absent keys to defaults)."""

    conversation_initiation_client_data_webhook: WebhookWire | None = None
    default_livekit_stack: str | None = None
    webhooks: dict[str, Any] | None = None
    can_use_mcp_servers: bool | None = None
    rag_retention_period_days: int | None = None
    conversation_embedding_retention_days: int | None = None


# The PatchConvAISettingsRequest keys the tool does not own and sends back as read.
SETTINGS_KEPT = (
    "webhooks",
    "can_use_mcp_servers",
    "rag_retention_period_days",
    "conversation_embedding_retention_days",
    "default_livekit_stack",
)


class SecretResponse(Response):
    secret_id: str
    name: str
    type: str | None = None


class SecretsPage(Response):
    secrets: list[SecretResponse]
    next_cursor: str | None = None
    has_more: bool | None = None


class CreateSecretResponse(Response):
    secret_id: str


class AgentResponse(Response):
    """GetAgentResponseModel: the two sections the tool edits are kept whole (read-modify-write)."""

    agent_id: str
    name: str | None = None
    conversation_config: dict[str, Any] = Field(default_factory=dict)
    platform_settings: dict[str, Any] | None = None


class AgentSummary(Response):
    """AgentSummaryResponseModel: one item of GET /v1/convai/agents."""

    agent_id: str
    name: str | None = None


class AgentsPage(Response):
    """GetAgentsPageResponseModel."""

    agents: list[AgentSummary]
    next_cursor: str | None = None
    has_more: bool | None = None


# -- requests -----------------------------------------------------------------------------------


class TrunkCredentialsRequest(Request):
    """SIPTrunkCredentialsRequestModel; `password` omitted keeps the stored one."""

    username: str
    password: str | None = None


class OutboundTrunkRequest(Request):
    """OutboundSIPTrunkConfigRequestModel."""

    address: str
    transport: str
    media_encryption: str
    headers: dict[str, str]
    attributes_to_headers: dict[str, str]
    enabled_codecs: list[str]
    credentials: TrunkCredentialsRequest | None


class InboundTrunkRequest(Request):
    """InboundSIPTrunkConfigRequestModel."""

    allowed_addresses: list[str]
    allowed_numbers: list[str] | None
    media_encryption: str
    credentials: TrunkCredentialsRequest | None
    remote_domains: list[str] | None
    attributes_to_headers: dict[str, str]


class ImportTwilioRequest(Request):
    """CreateTwilioPhoneNumberRequest."""

    provider: Literal["twilio"] = "twilio"
    phone_number: str
    label: str
    agent_id: str | None
    sid: str
    token: str
    account_auth_token: str | None = None
    supports_inbound: bool
    supports_outbound: bool


class ImportSipTrunkRequest(Request):
    """CreateSIPTrunkPhoneNumberRequestV2."""

    provider: Literal["sip_trunk"] = "sip_trunk"
    phone_number: str
    label: str
    agent_id: str | None
    inbound_trunk_config: InboundTrunkRequest | None
    outbound_trunk_config: OutboundTrunkRequest | None


ImportRequest = ImportTwilioRequest | ImportSipTrunkRequest


class UpdatePhoneNumberRequest(Request):
    """UpdatePhoneNumberRequest: every field optional; only the set ones are sent."""

    label: str | None = None
    agent_id: str | None = None
    inbound_trunk_config: InboundTrunkRequest | None = None
    outbound_trunk_config: OutboundTrunkRequest | None = None
    livekit_stack: Literal["standard", "static"] | None = None
    store_sip_messages: bool | None = None


class CreateSecretRequest(Request):
    """PostWorkspaceSecretRequest."""

    type: Literal["new"] = "new"
    name: str
    value: str


class UpdateSecretRequest(Request):
    """PatchWorkspaceSecretRequest."""

    type: Literal["update"] = "update"
    name: str
    value: str


class SettingsPatchRequest(Request):
    """PatchConvAISettingsRequest: the webhook, and every other setting as it was read."""

    conversation_initiation_client_data_webhook: WebhookWire | None
    webhooks: dict[str, Any] | None = None
    can_use_mcp_servers: bool | None = None
    rag_retention_period_days: int | None = None
    conversation_embedding_retention_days: int | None = None
    default_livekit_stack: Literal["standard", "static"] | None = None


class AgentPatchRequest(Request):
    """Body of PATCH /v1/convai/agents/{agent_id}: composed at send time from a fresh GET."""

    conversation_config: dict[str, Any] | None = None
    platform_settings: dict[str, Any] | None = None
