"""The manifest, version 1: the one data model that flows from `telephony.yaml` to apply.

These pydantic models are the single source of truth for the manifest format. The JSON Schema in
`schemas/telephony.schema.json` is generated from them, the loader validates into them, and the
planner turns them into canonical values (`provisioner.desired`) that are compared with the
values decoded from the API (`provisioner.api.codec`).

Secret-bearing fields (Twilio credentials, SIP passwords, webhook headers) hold the *reference*
as written in the file (`${VAR}`), never the resolved value: values are resolved only at the
moment they are sent (`provisioner.secrets`), so a model can be printed, logged or diffed safely.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Discriminator, Field, Tag, WithJsonSchema, field_validator
from pydantic_core import PydanticCustomError

from provisioner import grammar, requires

Region = Literal["default", "us", "eu", "in", "sg"]
Transport = Literal["auto", "udp", "tcp", "tls"]
MediaEncryption = Literal["disabled", "allowed", "required"]
Codec = Literal["G722/8000", "PCMU/8000", "PCMA/8000"]
TransferType = Literal["conference", "sip_refer", "blind"]
DynamicValue = str | int | float | bool

# An E.164 number. The pattern and example are for editors only (the JSON Schema): the rule itself
# is provisioner.grammar.E164, checked with a located message by provisioner.validation.
E164_PATTERN = r"^\+[1-9][0-9]{6,14}$"
E164Number = Annotated[str, WithJsonSchema({"type": "string", "pattern": E164_PATTERN, "examples": ["+14155550100"]})]

# Conversation fields a pre-call webhook may override (their API paths: provisioner.api.codec.OVERRIDE_PATHS).
OverrideName = Literal[
    "first_message",
    "language",
    "max_conversation_duration_message",
    "prompt",
    "llm",
    "tool_ids",
    "knowledge_base",
    "voice",
    "tts_model",
    "stability",
    "speed",
    "similarity_boost",
    "text_only",
    "max_duration_seconds",
]


class Model(BaseModel):
    """Base for every manifest model: unknown keys are errors, values are immutable.

    Strict: YAML already gives real booleans and numbers, so a quoted "true" or "3" is a mistake
    worth reporting rather than coercing; an unquoted +14155550100 (a YAML integer) is an error too.
    Semantic rules (E.164, SID formats, cross references) live in `provisioner.validation`, not
    here, so the reconciler can build these models from whatever the live API returns.
    """

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)


class Workspace(Model):
    """Settings of the tool for this workspace."""

    region: Region = Field("default", description="API region: picks the base URL when --api-url is not set.")
    prune: bool = Field(False, description="Plan deletion of live numbers this manifest does not declare.")
    max_deletes: int = Field(
        0, ge=0, description="Apply refuses to delete more numbers than this unless --allow-deletes."
    )


class SecretName(Model):
    """A header value kept in an existing workspace secret that this tool did not create.

    The secret is referenced by its name; its value is not managed: the tool never creates,
    rotates or deletes it, and plan fails when it does not exist.
    """

    secret: str = Field(min_length=1, description="Name of an existing workspace secret (not telephony:...).")


class Webhook(Model):
    """A conversation-initiation (pre-call) webhook. Header values containing ${VAR} are secrets."""

    url: str = Field(description="https URL ElevenLabs POSTs to before the call connects.")
    headers: dict[str, str | SecretName] = Field(
        default_factory=dict,
        description=(
            "Request headers. Values with ${VAR} are stored as workspace secrets, never in plain text; "
            "{secret: NAME} uses an existing workspace secret the tool does not manage."
        ),
    )


class Credentials(Model):
    """SIP digest authentication."""

    username: str = Field(min_length=1, description="Digest auth user name.")
    password: str | None = Field(
        None, description="A ${VAR} reference; write-only: the API never returns it. Omitted: keep the live one."
    )


class OutboundTrunk(Model):
    """Calls from ElevenLabs to the PBX or carrier."""

    address: str = Field(description="Host or IP, optionally :port, without a sip: prefix.")
    transport: Transport = Field("auto", description="SIP signalling transport; tls encrypts it.")
    media_encryption: MediaEncryption = Field("allowed", description="SRTP policy for the audio.")
    headers: dict[str, str] = Field(default_factory=dict, description="Static SIP headers on the INVITE.")
    attributes_to_headers: dict[str, str] = Field(
        default_factory=dict, description="Dynamic variable name -> SIP header name."
    )
    codecs: list[Codec] = Field(default_factory=list, description="Offered codecs; empty offers all.")
    credentials: Credentials | None = Field(None, description="Digest auth; absent means IP allow-listing.")


class InboundTrunk(Model):
    """Calls from the PBX or carrier to ElevenLabs."""

    allowed_addresses: list[str] = Field(default_factory=list, description="IPs or CIDR blocks (the ACL).")
    allowed_numbers: list[E164Number] | None = Field(
        None, description="Caller numbers (E.164) allowed to use the trunk."
    )
    media_encryption: MediaEncryption = Field("allowed", description="SRTP policy for the audio.")
    credentials: Credentials | None = Field(None, description="Digest auth the PBX must use.")
    remote_domains: list[str] | None = Field(None, description="Domains that validate remote TLS certificates.")
    attributes_to_headers: dict[str, str] = Field(
        default_factory=dict, description="Dynamic variable name -> SIP header name."
    )


class SipTrunk(Model):
    """A SIP trunk, declared once and referenced by many numbers. Managed whole."""

    static_ip: bool = Field(False, description="Use the static-IP stack (livekit_stack: static) for ACLs.")
    store_sip_messages: bool = Field(True, description="Keep SIP message logs for this trunk's numbers.")
    outbound: OutboundTrunk | None = Field(None, description="Calls from ElevenLabs to the PBX or carrier.")
    inbound: InboundTrunk | None = Field(None, description="Calls from the PBX or carrier to ElevenLabs.")


class Uui(Model):
    """RFC 7433 user-to-user information sent with a SIP REFER."""

    data: str = Field(min_length=1, max_length=8192, description="The UUI payload (hex or text).")
    protocol_discriminator: str | None = Field(None, description="Two hex digits, e.g. 04.")
    mode: Literal["prefix", "pd_parameter"] = Field(
        "prefix", description="How the discriminator is sent (-> protocol_discriminator_mode)."
    )


class TransferRule(Model):
    """When and where an agent transfers a call to a human."""

    to: str = Field(
        description='E.164 number, "sip:..." URI, or "{{var}}" / "sip:{{var}}" dynamic variable.',
        examples=["+14155550199", "sip:desk@pbx.example.com", "{{agent_desk}}"],
    )
    type: TransferType = Field(
        "conference", description="conference (default); sip_refer: SIP trunk calls only; blind: Twilio calls only."
    )
    condition: str = Field(min_length=1, description="When the agent should transfer, in plain words.")
    wait_message: str | None = Field(None, description="What the agent tells the caller while transferring.")
    handoff_message: str | None = Field(None, description="What the agent tells the human who picks up.")
    sip_headers: dict[str, str] = Field(default_factory=dict, description='Static value, or exactly "{{var}}".')
    post_dial_digits: str | None = Field(None, description='DTMF digits (0-9*#wW) or exactly "{{var}}".')
    uui: Uui | None = Field(None, description="SIP REFER only: user-to-user information sent with the transfer.")
    play_dialtone: bool = Field(True, description="SIP REFER only: play a dial tone while transferring.")


def _webhook_kind(value: Any) -> str:
    # A callable discriminator instead of a plain union: errors then name one member, not both.
    return "flag" if isinstance(value, bool) else "webhook"


AgentWebhook = Annotated[
    Annotated[bool, Tag("flag")] | Annotated[Webhook, Tag("webhook")],
    Discriminator(_webhook_kind),
]


class Agent(Model):
    """An agent authored elsewhere; only its telephony settings are managed here.

    A key left out is not managed: its live value is never read, compared or written.
    """

    id: str = Field(min_length=1, description="The agent's id, e.g. agent_3701k3ttaq12ewp8b7qv5rfyszkz.")
    pre_call_webhook: AgentWebhook | None = Field(
        None,
        description="true: use the workspace webhook; {url, headers}: this agent's own; false: off.",
    )
    dynamic_variables: dict[str, DynamicValue | None] | None = Field(
        None,
        description=(
            "Placeholder values; managed per key, keys set elsewhere are kept. "
            "A key set to null is removed from the agent (a no-op when it is already absent)."
        ),
    )
    transfers: list[TransferRule] | None = Field(None, description="[] removes the transfer tool.")
    overrides: list[OverrideName] | None = Field(
        None, description="Conversation fields a pre-call webhook may override."
    )


class TwilioCredentials(Model):
    """Twilio credentials, as ${VAR} references; sent on import only (the API never returns them)."""

    account_sid: str = Field(description="AC... Account SID or SK... API Key SID, as ${VAR}.")
    auth_token: str = Field(description="Auth token or API key secret, as ${VAR}.")
    account_auth_token: str | None = Field(None, description="Required with an SK... API key SID.")
    caller_id_only: bool = Field(False, description="A verified caller ID: outbound only, takes no agent.")


class NumberBase(Model):
    """What every phone number has."""

    number: E164Number = Field(description="E.164, e.g. +14155550100. The number's identity.")
    label: str = Field(min_length=1, description="Name shown in the ElevenLabs dashboard.")
    agent: str | None = Field(None, description="Alias of an agent under `agents:`; null unassigns.")


class TwilioNumber(NumberBase):
    """A number imported from Twilio."""

    provider: Literal["twilio"] = Field(description="twilio: a number imported from a Twilio account.")
    twilio: TwilioCredentials = Field(description="The Twilio account (or API key) that owns the number.")


class SipTrunkNumber(NumberBase):
    """A number reached over a SIP trunk."""

    provider: Literal["sip_trunk"] = Field(description="sip_trunk: a number reached over a SIP trunk.")
    sip_trunk: str = Field(description="Name of a trunk under `sip_trunks:`.")


PhoneNumber = Annotated[TwilioNumber | SipTrunkNumber, Field(discriminator="provider")]


class Environment(Model):
    """Values for `${{ vars.NAME }}` when the manifest is loaded with `--env NAME`."""

    vars: dict[str, str | int | float | bool] = Field(
        default_factory=dict, description="NAME: value for ${{ vars.NAME }}."
    )
    api_key_env: str | None = Field(
        None,
        description="The variable holding this environment's ElevenLabs API key (default ELEVENLABS_API_KEY); "
        "when set, ELEVENLABS_API_KEY is never read for it.",
        examples=["ELEVENLABS_API_KEY_PROD"],
    )

    @field_validator("api_key_env")
    @classmethod
    def _variable_name(cls, value: str | None) -> str | None:
        if value is not None and not grammar.ENV_VARIABLE_NAME.match(value):
            raise PydanticCustomError(
                "env_variable_name",
                "api_key_env must name an environment variable (letters, digits and _, not starting with a "
                "digit), e.g. ELEVENLABS_API_KEY_PROD",
            )
        return value


class Manifest(Model):
    """The whole `telephony.yaml`."""

    version: Literal[1] = Field(description="Manifest format version; always 1.")
    requires: str | None = Field(None, description=requires.DESCRIPTION)
    workspace: Workspace = Field(default_factory=lambda: Workspace(), description="Region and deletion safety.")
    pre_call_webhook: Webhook | None = Field(
        None, description="Workspace pre-call webhook; null clears it; leave the key out to not manage it."
    )
    agents: dict[str, Agent] = Field(default_factory=dict, description="alias: telephony settings of an agent.")
    sip_trunks: dict[str, SipTrunk] = Field(default_factory=dict, description="name: SIP trunk, used by numbers.")
    phone_numbers: dict[str, PhoneNumber] = Field(default_factory=dict, description="alias: phone number to import.")
    environments: dict[str, Environment] = Field(
        default_factory=dict, description="name: vars for --env NAME; read before the file is rendered."
    )

    @field_validator("version", mode="before")
    @classmethod
    def _integer_version(cls, value: Any) -> Any:
        # Literal[1] compares by equality, so 1.0 and true would pass: types are strict here too.
        if type(value) is not int:
            raise PydanticCustomError("literal_error", "Input should be 1", {"expected": "1"})
        return value

    @field_validator("requires")
    @classmethod
    def _specifier(cls, value: str | None) -> str | None:
        # Whether the running version matches is checked before rendering (provisioner.requires);
        # here only that the pin is a specifier set, so a typo is reported where it is written.
        if value is not None:
            try:
                requires.specifier(value)
            except ValueError as exc:
                raise PydanticCustomError("requires", str(exc)) from None
        return value

    def declares(self, key: str) -> bool:
        """Whether the file set `key` at the top level (so `null` means "clear", not "unmanaged")."""
        return key in self.model_fields_set
