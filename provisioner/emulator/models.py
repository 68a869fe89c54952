"""Request bodies, validated by FastAPI so that bad input gets the real API's 422 `detail` array.

Class names match the OpenAPI schema names because pydantic puts the member name of a failed
union into the error `loc` (`["body", "CreateTwilioPhoneNumberRequest", "sid"]`), as the real
API does. Unknown keys are ignored, not rejected (pydantic's default, like the real API).
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Discriminator, Field, Tag, TypeAdapter

MediaEncryption = Literal["disabled", "allowed", "required"]
Transport = Literal["auto", "udp", "tcp", "tls"]
MediaCodec = Literal["G722/8000", "PCMU/8000", "PCMA/8000"]
LivekitStack = Literal["standard", "static"]


class SIPTrunkCredentialsRequestModel(BaseModel):
    username: str
    password: str | None = None


class InboundSIPTrunkConfigRequestModel(BaseModel):
    allowed_addresses: list[str] | None = None
    allowed_numbers: list[str] | None = None
    media_encryption: MediaEncryption = "allowed"
    credentials: SIPTrunkCredentialsRequestModel | None = None
    remote_domains: list[str] | None = None
    attributes_to_headers: dict[str, str] = Field(default_factory=dict)


class OutboundSIPTrunkConfigRequestModel(BaseModel):
    address: str
    transport: Transport = "auto"
    media_encryption: MediaEncryption = "allowed"
    headers: dict[str, str] = Field(default_factory=dict)
    attributes_to_headers: dict[str, str] = Field(default_factory=dict)
    credentials: SIPTrunkCredentialsRequestModel | None = None
    enabled_codecs: list[MediaCodec] = Field(default_factory=list)


INBOUND = InboundSIPTrunkConfigRequestModel
OUTBOUND = OutboundSIPTrunkConfigRequestModel


class RegionConfigRequest(BaseModel):
    region_id: Literal["us1", "ie1", "au1"]
    token: str
    edge_location: Literal[
        "ashburn", "dublin", "frankfurt", "sao-paulo", "singapore", "sydney", "tokyo", "umatilla", "roaming"
    ]


class _CreatePhoneNumberBase(BaseModel):
    phone_number: str
    label: str
    supports_inbound: bool = True
    supports_outbound: bool = True
    agent_id: str | None = None


class CreateTwilioPhoneNumberRequest(_CreatePhoneNumberBase):
    provider: Literal["twilio"] = "twilio"
    sid: str
    token: str
    account_auth_token: str | None = None
    region_config: RegionConfigRequest | None = None
    enable_sms: bool = True


class CreateExotelPhoneNumberRequest(_CreatePhoneNumberBase):
    provider: Literal["exotel"] = "exotel"
    account_sid: str
    api_key: str
    api_token: str
    api_subdomain: Literal["api.in.exotel.com", "api.exotel.com"]
    app_id: str
    applet_url: str | None = None


class CreateSIPTrunkPhoneNumberRequestV2(_CreatePhoneNumberBase):
    provider: Literal["sip_trunk"] = "sip_trunk"
    inbound_trunk_config: InboundSIPTrunkConfigRequestModel | None = None
    outbound_trunk_config: OutboundSIPTrunkConfigRequestModel | None = None


# A plain (smart-mode) union as in the spec's `anyOf`: a bare {phone_number, label} is a SIP trunk.
CreatePhoneNumberRequest = (
    CreateTwilioPhoneNumberRequest | CreateExotelPhoneNumberRequest | CreateSIPTrunkPhoneNumberRequestV2
)


class UpdatePhoneNumberRequest(BaseModel):
    agent_id: str | None = None
    label: str | None = None
    inbound_trunk_config: InboundSIPTrunkConfigRequestModel | None = None
    outbound_trunk_config: OutboundSIPTrunkConfigRequestModel | None = None
    livekit_stack: LivekitStack | None = None
    store_sip_messages: bool | None = None
    environment: str | None = None
    branch_id: str | None = None


# --- agents: only telephony-relevant subtrees are typed; the rest passes through as JSON ---


class _Open(BaseModel):
    """An object whose unmodelled keys are kept (and filtered later against the known-field tree)."""

    model_config = ConfigDict(extra="allow")


class PhoneDestination(BaseModel):
    type: Literal["phone"] = "phone"
    phone_number: str


class SipUriDestination(BaseModel):
    type: Literal["sip_uri"]
    sip_uri: str


class PhoneDynamicVariableDestination(BaseModel):
    type: Literal["phone_dynamic_variable"]
    phone_number: str


class SipUriDynamicVariableDestination(BaseModel):
    type: Literal["sip_uri_dynamic_variable"]
    sip_uri: str


TransferDestination = Annotated[
    PhoneDestination | SipUriDestination | PhoneDynamicVariableDestination | SipUriDynamicVariableDestination,
    Field(discriminator="type"),
]


class CustomSipHeader(BaseModel):
    type: Literal["static", "dynamic"] = "static"
    key: Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9]+(-[A-Za-z0-9]+)*$")]
    value: Annotated[str, Field(min_length=1, max_length=512)]


class PhoneNumberTransfer(_Open):
    transfer_destination: TransferDestination
    phone_number: str | None = None  # deprecated pre-`transfer_destination` form
    condition: str
    transfer_type: Literal["blind", "conference", "sip_refer"] = "conference"
    custom_sip_headers: Annotated[list[CustomSipHeader], Field(max_length=20)] = Field(default_factory=list)
    sip_refer_play_dialtone: bool = True


class AgentTransfer(_Open):
    agent_id: str | None = None
    node_id: str | None = None
    condition: str
    delay_ms: int = 0
    transfer_message: str | None = None
    enable_transferred_agent_first_message: bool = False
    is_workflow_node_transfer: bool = False
    preserve_client_tts_overrides: bool = False


class TransferToNumberParams(_Open):
    system_tool_type: Literal["transfer_to_number"] = "transfer_to_number"
    transfers: list[PhoneNumberTransfer]
    enable_client_message: bool = True


class TransferToAgentParams(_Open):
    system_tool_type: Literal["transfer_to_agent"] = "transfer_to_agent"
    transfers: list[AgentTransfer]


class OtherSystemToolParams(_Open):
    """Params of the other system tools (end_call, …): passed through unvalidated."""

    system_tool_type: str


def _params_tag(value: Any) -> str | None:
    tag = value.get("system_tool_type") if isinstance(value, dict) else getattr(value, "system_tool_type", None)
    if tag is None:
        return None  # the discriminator is required, as on the real API: 422
    return str(tag) if tag in ("transfer_to_number", "transfer_to_agent") else "other"


SystemToolParams = Annotated[
    Annotated[TransferToNumberParams, Tag("transfer_to_number")]
    | Annotated[TransferToAgentParams, Tag("transfer_to_agent")]
    | Annotated[OtherSystemToolParams, Tag("other")],
    Discriminator(_params_tag),
]


class SystemToolConfig(_Open):
    type: Literal["system"] = "system"
    name: Annotated[str, Field(pattern=r"^[a-zA-Z0-9_-]{1,64}$")]
    description: str = ""
    response_timeout_secs: int = 20
    interruption_mode: Literal["allow", "disable_during_tool", "disable_during_tool_and_turn"] = "allow"
    pre_tool_speech: Literal["auto", "force", "off"] = "auto"
    disable_interruptions: bool = False
    force_pre_tool_speech: bool = False
    assignments: list[dict[str, Any]] = Field(default_factory=list)
    tool_call_sound: Literal["typing", "elevator1", "elevator2", "elevator3", "elevator4"] | None = None
    tool_call_sound_behavior: Literal["auto", "always"] = "auto"
    tool_error_handling_mode: Literal["auto", "summarized", "passthrough", "hide"] = "auto"
    params: SystemToolParams


class BuiltInTools(_Open):
    transfer_to_number: SystemToolConfig | None = None
    transfer_to_agent: SystemToolConfig | None = None


class PromptPatch(_Open):
    built_in_tools: BuiltInTools | None = None
    tool_ids: list[str] | None = None


class AgentConfigPatch(_Open):
    prompt: PromptPatch | None = None


class ConversationalConfigPatch(_Open):
    agent: AgentConfigPatch | None = None


class ConvAISecretLocator(BaseModel):
    secret_id: str


class EnvVarLocator(BaseModel):
    env_var_label: str


class ConversationInitiationClientDataWebhook(BaseModel):
    url: str
    request_headers: dict[str, str | ConvAISecretLocator | EnvVarLocator]


class OverridesPatch(_Open):
    enable_conversation_initiation_client_data_from_webhook: bool | None = None


class WorkspaceOverridesPatch(_Open):
    conversation_initiation_client_data_webhook: ConversationInitiationClientDataWebhook | None = None


class PlatformSettingsPatch(_Open):
    overrides: OverridesPatch | None = None
    workspace_overrides: WorkspaceOverridesPatch | None = None


class CreateAgentRequest(BaseModel):
    conversation_config: ConversationalConfigPatch
    platform_settings: PlatformSettingsPatch | None = None
    workflow: dict[str, Any] | None = None
    name: str | None = None
    tags: list[str] | None = None


class PatchAgentRequest(BaseModel):
    conversation_config: ConversationalConfigPatch | None = None
    platform_settings: PlatformSettingsPatch | None = None
    workflow: dict[str, Any] | None = None
    name: str | None = None
    tags: list[str] | None = None
    version_description: str | None = None
    procedures: dict[str, Any] | None = None


# --- workspace settings and secrets ---


class ConvAIWebhooks(BaseModel):
    post_call_webhook_id: str | None = None
    events: list[
        Literal[
            "transcript",
            "audio",
            "call_initiation_failure",
            "answering_machine_detection",
            "unredacted_transcript",
            "unredacted_audio",
        ]
    ] = Field(default_factory=list)
    transcript_format: Literal["json", "opentelemetry"] = "json"
    exclude_transcript: bool | None = None
    send_audio: bool | None = None


class PatchConvAISettingsRequest(BaseModel):
    conversation_initiation_client_data_webhook: ConversationInitiationClientDataWebhook | None = None
    webhooks: ConvAIWebhooks | None = None
    can_use_mcp_servers: bool | None = None
    rag_retention_period_days: Annotated[int, Field(gt=0, le=30)] | None = None
    conversation_embedding_retention_days: Annotated[int, Field(gt=0, le=365)] | None = None
    default_livekit_stack: LivekitStack | None = None


class PostWorkspaceSecretRequest(BaseModel):
    type: Literal["new"]
    name: str
    value: str


class PatchWorkspaceSecretRequest(BaseModel):
    type: Literal["update"]
    name: str
    value: str


# --- outbound calls and batch calling ---


class TwilioMachineDetectionConfig(_Open):
    mode: Literal["enable", "detect_message_end"] = "enable"


class TelephonyCallConfig(BaseModel):
    ringing_timeout_secs: Annotated[int, Field(ge=1, le=999)] = 60
    twilio_call_recording_enabled: bool = False
    twilio_machine_detection: TwilioMachineDetectionConfig | None = None


class _OutboundCallBase(BaseModel):
    agent_id: str
    agent_phone_number_id: str
    to_number: str
    conversation_initiation_client_data: dict[str, Any] | None = None
    telephony_call_config: TelephonyCallConfig = Field(default_factory=TelephonyCallConfig)


class TwilioOutboundCallRequest(_OutboundCallBase):
    call_recording_enabled: bool | None = None


class SipTrunkOutboundCallRequest(_OutboundCallBase):
    pass


class OutboundCallRecipient(BaseModel):
    id: str | None = None
    phone_number: str | None = None
    whatsapp_user_id: str | None = None
    conversation_initiation_client_data: dict[str, Any] | None = None


class BatchCallWhatsAppParams(BaseModel):
    whatsapp_phone_number_id: str | None = None
    whatsapp_call_permission_request_template_name: str
    whatsapp_call_permission_request_template_language_code: str


class SubmitBatchCallRequest(BaseModel):
    call_name: str
    agent_id: str
    recipients: Annotated[list[OutboundCallRecipient], Field(max_length=10000)]
    scheduled_time_unix: int | None = None
    agent_phone_number_id: str | None = None
    whatsapp_params: BatchCallWhatsAppParams | None = None
    timezone: str | None = None
    branch_id: str | None = None
    environment: str | None = None
    telephony_call_config: TelephonyCallConfig = Field(default_factory=TelephonyCallConfig)
    target_concurrency_limit: Annotated[int, Field(ge=1)] | None = None


_CREATE_ADAPTER: TypeAdapter[CreatePhoneNumberRequest] = TypeAdapter(CreatePhoneNumberRequest)


def parse_create_phone_number(data: Any) -> CreatePhoneNumberRequest:
    """Validate an import body outside a request (seed files)."""
    return _CREATE_ADAPTER.validate_python(data)


_AGENT_TOOLS = ("transfer_to_number", "transfer_to_agent")


def agent_patch_dict(body: CreateAgentRequest | PatchAgentRequest) -> dict[str, Any]:
    """The keys the client sent, with built-in telephony tools' defaults materialised."""
    patch: dict[str, Any] = body.model_dump(exclude_unset=True, mode="json")
    prompt = (
        body.conversation_config.agent.prompt if body.conversation_config and body.conversation_config.agent else None
    )
    tools = prompt.built_in_tools if prompt else None
    if tools is not None:
        target = patch["conversation_config"]["agent"]["prompt"]["built_in_tools"]
        for name in _AGENT_TOOLS:
            tool = getattr(tools, name)
            if tool is not None:
                target[name] = tool.model_dump(mode="json")
    return patch
