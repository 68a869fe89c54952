"""Contract tests: the official `elevenlabs` SDK against the emulator over a real TCP socket.

The SDK's models do not validate what they parse, so every raw response body is also
validated strictly with `pydantic.TypeAdapter(<SDK model>)`, and every 2xx/422 body against
the official OpenAPI spec (the v2 list, newer than the spec, against the SDK model only).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import httpx
import pydantic
import pytest
from elevenlabs import ElevenLabs, OutboundCallRecipient
from elevenlabs.conversational_ai.phone_numbers.types import (
    PhoneNumbersCreateRequestBody_SipTrunk,
    PhoneNumbersCreateRequestBody_Twilio,
    PhoneNumbersGetResponse,
    PhoneNumbersListResponseItem,
    PhoneNumbersUpdateResponse,
)
from elevenlabs.core.api_error import ApiError
from elevenlabs.errors import UnprocessableEntityError
from elevenlabs.types import (
    BatchCallDetailedResponse,
    BatchCallResponse,
    ConvAiWorkspaceStoredSecretConfig,
    CreateAgentResponseModel,
    CreatePhoneNumberResponseModel,
    GetAgentResponseModel,
    GetAgentsPageResponseModel,
    GetConvAiSettingsResponseModel,
    GetPhoneNumbersPageResponseModel,
    GetSipLogMessagesResponse,
    GetWorkspaceSecretsResponseModel,
    PostWorkspaceSecretResponseModel,
    SipTrunkOutboundCallResponse,
    TwilioOutboundCallResponse,
    WorkspaceBatchCallsResponse,
)

if TYPE_CHECKING:
    from conftest import OpenApiValidator

    from provisioner.emulator.testing import EmulatorServer

V2_LIST = "/v1/convai/v2/phone-numbers"


@dataclass
class Recorder:
    """Every response the SDK receives: (method, path, status, parsed body)."""

    seen: list[tuple[str, str, int, Any]] = field(default_factory=list)

    def hook(self, response: httpx.Response) -> None:
        response.read()
        body = response.json() if response.content else None
        self.seen.append((response.request.method, response.request.url.path, response.status_code, body))

    def last(self, method: str, path_prefix: str) -> Any:
        for m, path, _status, body in reversed(self.seen):
            if m == method and path.startswith(path_prefix):
                return body
        raise AssertionError(f"no {method} {path_prefix} recorded")


@pytest.fixture
def recorder() -> Recorder:
    return Recorder()


@pytest.fixture
def sdk(emulator_server: EmulatorServer, recorder: Recorder, openapi: OpenApiValidator) -> Iterator[ElevenLabs]:
    http = httpx.Client(event_hooks={"response": [recorder.hook]}, timeout=10.0)
    yield ElevenLabs(api_key=emulator_server.api_key, base_url=emulator_server.url, httpx_client=http)
    http.close()
    # Every 2xx and 422 body of the test, checked against the spec.
    for method, path, status, body in recorder.seen:
        if status < 300 or status == 422:
            if path == V2_LIST:
                strict(GetPhoneNumbersPageResponseModel, body)
            elif body is not None or status != 204:
                assert openapi.validate(method, path, status, body), f"{method} {path} not in the spec"


def strict(model: Any, raw: Any) -> Any:
    """Validate strictly (the SDK itself never does) and return the parsed value."""
    return pydantic.TypeAdapter(model).validate_python(raw)


def check_number(raw: dict[str, Any], provider: str) -> None:
    assert raw["provider"] == provider  # without it the SDK silently builds the Twilio variant
    strict(PhoneNumbersGetResponse, raw)
    for secret in ("sid", "token", "account_auth_token", "region_config", "enable_sms", "credentials", "password"):
        assert secret not in raw


def twilio_body(phone: str = "+15550001111", **extra: Any) -> PhoneNumbersCreateRequestBody_Twilio:
    return PhoneNumbersCreateRequestBody_Twilio(
        phone_number=phone, label="support-line", sid="AC" + "0" * 32, token="twilio-token", **extra
    )


def sip_body(phone: str = "+15550002222") -> PhoneNumbersCreateRequestBody_SipTrunk:
    return PhoneNumbersCreateRequestBody_SipTrunk(
        phone_number=phone,
        label="pbx-line",
        inbound_trunk_config={"allowed_addresses": ["192.0.2.0/24"], "media_encryption": "allowed"},
        outbound_trunk_config={
            "address": "sip.example.test:5060",
            "transport": "tcp",
            "credentials": {"username": "u", "password": "sip-secret"},
        },
    )


def make_agent(sdk: ElevenLabs, recorder: Recorder, name: str = "Support") -> str:
    created = sdk.conversational_ai.agents.create(conversation_config={}, name=name)
    strict(CreateAgentResponseModel, recorder.last("POST", "/v1/convai/agents/create"))
    assert created.agent_id.startswith("agent_") and len(created.agent_id) == len("agent_") + 28
    return created.agent_id


def test_twilio_import_get_list_assign_unassign_delete(sdk: ElevenLabs, recorder: Recorder) -> None:
    numbers = sdk.conversational_ai.phone_numbers
    created = numbers.create(request=twilio_body())
    strict(CreatePhoneNumberResponseModel, recorder.last("POST", "/v1/convai/phone-numbers"))
    pid = created.phone_number_id
    assert pid.startswith("phnum_") and len(pid) == len("phnum_") + 28

    got = numbers.get(pid)
    raw = recorder.last("GET", f"/v1/convai/phone-numbers/{pid}")
    check_number(raw, "twilio")
    assert raw["supports_inbound"] is True and raw["supports_outbound"] is True and raw["assigned_agent"] is None
    assert got.phone_number == "+15550001111"

    listed = numbers.list()
    raw_list = recorder.last("GET", "/v1/convai/phone-numbers")
    strict(list[PhoneNumbersListResponseItem], raw_list)
    assert [n.phone_number_id for n in listed] == [pid]

    agent_id = make_agent(sdk, recorder, "Support")
    numbers.update(pid, agent_id=agent_id)
    raw = recorder.last("PATCH", f"/v1/convai/phone-numbers/{pid}")
    strict(PhoneNumbersUpdateResponse, raw)
    assert raw["assigned_agent"]["agent_id"] == agent_id and raw["assigned_agent"]["agent_name"] == "Support"
    assert raw["label"] == "support-line"  # absent keys are kept

    sdk.conversational_ai.agents.update(agent_id, name="Support v2")
    numbers.get(pid)
    assert recorder.last("GET", f"/v1/convai/phone-numbers/{pid}")["assigned_agent"]["agent_name"] == "Support v2"
    sdk.conversational_ai.agents.get(agent_id)
    agent_raw = recorder.last("GET", f"/v1/convai/agents/{agent_id}")
    strict(GetAgentResponseModel, agent_raw)
    assert [n["phone_number_id"] for n in agent_raw["phone_numbers"]] == [pid]

    numbers.update(pid, agent_id=None)  # the SDK sends {"agent_id": null}: unassign
    assert recorder.last("PATCH", f"/v1/convai/phone-numbers/{pid}")["assigned_agent"] is None

    assert numbers.delete(pid) == {}
    with pytest.raises(ApiError) as err:
        numbers.get(pid)
    assert err.value.status_code == 404


def test_sip_import_and_trunk_updates(sdk: ElevenLabs, recorder: Recorder) -> None:
    numbers = sdk.conversational_ai.phone_numbers
    pid = numbers.create(request=sip_body()).phone_number_id
    numbers.get(pid)
    raw = recorder.last("GET", f"/v1/convai/phone-numbers/{pid}")
    check_number(raw, "sip_trunk")
    assert raw["livekit_stack"] == "standard" and raw["store_sip_messages"] is True
    out = raw["outbound_trunk"]
    assert out == raw["provider_config"]
    assert out["transport"] == "tcp" and out["media_encryption"] == "allowed" and out["headers"] == {}
    assert out["has_auth_credentials"] is True and out["username"] == "u" and out["has_outbound_trunk"] is False
    assert raw["inbound_trunk"]["allowed_addresses"] == ["192.0.2.0/24"]
    assert raw["inbound_trunk"]["has_auth_credentials"] is False and raw["inbound_trunk"]["allowed_numbers"] is None

    # A trunk config replaces the stored one whole; credentials without a password keep it.
    numbers.update(
        pid,
        outbound_trunk_config={
            "address": "10.0.0.9",
            "credentials": {"username": "u2"},
            "enabled_codecs": ["PCMU/8000"],
        },
        livekit_stack="static",
    )
    raw = recorder.last("PATCH", f"/v1/convai/phone-numbers/{pid}")
    check_number(raw, "sip_trunk")
    out = raw["outbound_trunk"]
    assert out["address"] == "10.0.0.9" and out["transport"] == "auto"  # replaced whole, defaults again
    assert out["username"] == "u2" and out["has_auth_credentials"] is True
    assert out["enabled_codecs"] == ["PCMU/8000"] and raw["livekit_stack"] == "static"
    assert raw["inbound_trunk"]["allowed_addresses"] == ["192.0.2.0/24"]  # absent: untouched

    numbers.update(pid, inbound_trunk_config=None, label="renamed")
    raw = recorder.last("PATCH", f"/v1/convai/phone-numbers/{pid}")
    assert raw["inbound_trunk"] is None and raw["label"] == "renamed"

    messages = numbers.get_sip_messages(pid)
    strict(GetSipLogMessagesResponse, recorder.last("GET", f"/v1/convai/phone-numbers/{pid}/sip-messages"))
    assert messages.sip_messages == [] and messages.has_more is False


def test_list_filters_and_v2_pages(sdk: ElevenLabs, recorder: Recorder) -> None:
    numbers = sdk.conversational_ai.phone_numbers
    agent_id = make_agent(sdk, recorder)
    twilio_ids = [numbers.create(request=twilio_body(f"+1555000100{i}")).phone_number_id for i in range(3)]
    sip_ids = [numbers.create(request=sip_body(f"+1555000200{i}")).phone_number_id for i in range(2)]
    numbers.update(sip_ids[0], agent_id=agent_id)

    assert {n.phone_number_id for n in numbers.list(provider="sip_trunk")} == set(sip_ids)
    for item in recorder.last("GET", "/v1/convai/phone-numbers"):
        check_number(item, "sip_trunk")
    assert [n.phone_number_id for n in numbers.list(agent_id=agent_id)] == [sip_ids[0]]

    seen: list[str] = []
    cursor = None
    while True:
        page = numbers.list_v_2(page_size=2, cursor=cursor, sort_by="phone_number")
        raw = recorder.last("GET", V2_LIST)
        strict(GetPhoneNumbersPageResponseModel, raw)
        for item in raw["phone_numbers"]:
            assert "provider" in item
        seen += [n.phone_number_id for n in page.phone_numbers]
        if not page.has_more:
            assert page.next_cursor is None
            break
        cursor = page.next_cursor
    assert sorted(seen) == sorted(twilio_ids + sip_ids) and len(seen) == 5
    assert [n.phone_number_id for n in numbers.list_v_2(search="+15550002001").phone_numbers] == [sip_ids[1]]
    assert len(numbers.list_v_2(provider="twilio").phone_numbers) == 3


def test_agents_create_get_list_patch_delete(sdk: ElevenLabs, recorder: Recorder) -> None:
    agents = sdk.conversational_ai.agents
    ids = [make_agent(sdk, recorder, f"Agent {i}") for i in range(3)]
    page = agents.list(page_size=2)
    strict(GetAgentsPageResponseModel, recorder.last("GET", "/v1/convai/agents"))
    assert page.has_more is True and len(page.agents) == 2
    rest = agents.list(page_size=2, cursor=page.next_cursor)
    assert {a.agent_id for a in page.agents + rest.agents} == set(ids) and rest.has_more is False

    transfer = {
        "type": "system",
        "name": "transfer_to_number",
        "params": {
            "system_tool_type": "transfer_to_number",
            "transfers": [
                {"transfer_destination": {"type": "phone", "phone_number": "+15550004444"}, "condition": "billing"}
            ],
        },
    }
    agents.update(
        ids[0],
        conversation_config={
            "agent": {"first_message": "Hi", "prompt": {"built_in_tools": {"transfer_to_number": transfer}}},
            "not_a_real_key": 1,
        },
        platform_settings={"overrides": {"enable_conversation_initiation_client_data_from_webhook": True}},
    )
    raw = recorder.last("PATCH", f"/v1/convai/agents/{ids[0]}")
    strict(GetAgentResponseModel, raw)
    config = raw["conversation_config"]
    assert "not_a_real_key" not in config  # unknown keys silently dropped
    assert config["agent"]["first_message"] == "Hi" and config["agent"]["language"] == "en"  # merged, not replaced
    assert config["agent"]["prompt"]["llm"] == "gemini-2.5-flash"
    tool = config["agent"]["prompt"]["built_in_tools"]["transfer_to_number"]
    assert tool["params"]["transfers"][0]["transfer_type"] == "conference"  # defaults materialised
    overrides = raw["platform_settings"]["overrides"]
    assert overrides["enable_conversation_initiation_client_data_from_webhook"] is True
    assert overrides["conversation_config_override"]["agent"]["first_message"] is False  # sibling kept

    # Lists are replaced, not merged.
    agents.update(ids[0], conversation_config={"agent": {"prompt": {"tool_ids": ["tool_a", "tool_b"]}}})
    agents.update(ids[0], conversation_config={"agent": {"prompt": {"tool_ids": ["tool_c"]}}})
    raw = recorder.last("PATCH", f"/v1/convai/agents/{ids[0]}")
    assert raw["conversation_config"]["agent"]["prompt"]["tool_ids"] == ["tool_c"]

    agents.delete(ids[1])
    with pytest.raises(ApiError) as err:
        agents.get(ids[1])
    assert err.value.status_code == 404


def test_settings_and_secrets(sdk: ElevenLabs, recorder: Recorder, emulator_server: EmulatorServer) -> None:
    settings = sdk.conversational_ai.settings
    settings.get()
    raw = recorder.last("GET", "/v1/convai/settings")
    strict(GetConvAiSettingsResponseModel, raw)
    assert raw["conversation_initiation_client_data_webhook"] is None
    assert raw["webhooks"]["events"] == [] and raw["webhooks"]["transcript_format"] == "json"
    assert raw["rag_retention_period_days"] == 10 and raw["default_livekit_stack"] == "standard"

    secrets = sdk.conversational_ai.secrets
    created = secrets.create(name="hook_token", value="s3cret-value")
    strict(PostWorkspaceSecretResponseModel, recorder.last("POST", "/v1/convai/secrets"))
    sid = created.secret_id
    settings.update(
        conversation_initiation_client_data_webhook={
            "url": "https://hooks.example.test/pre-call",
            "request_headers": {"X-Token": {"secret_id": sid}, "X-Plain": "abc"},
        }
    )
    raw = recorder.last("PATCH", "/v1/convai/settings")
    strict(GetConvAiSettingsResponseModel, raw)
    assert raw["conversation_initiation_client_data_webhook"]["url"] == "https://hooks.example.test/pre-call"
    assert raw["rag_retention_period_days"] == 10  # absent: kept

    secrets.get(sid)
    raw = recorder.last("GET", f"/v1/convai/secrets/{sid}")
    strict(ConvAiWorkspaceStoredSecretConfig, raw)
    assert raw["used_by"]["others"] == ["conversation_initiation_webhook"]
    with pytest.raises(ApiError) as err:
        secrets.delete(sid)
    assert err.value.status_code == 400 and err.value.body["detail"]["code"] == "secret_in_use"

    secrets.update(sid, name="hook_token_2", value="another-value")
    strict(PostWorkspaceSecretResponseModel, recorder.last("PATCH", f"/v1/convai/secrets/{sid}"))
    listed = secrets.list()
    raw = recorder.last("GET", "/v1/convai/secrets")
    strict(GetWorkspaceSecretsResponseModel, raw)
    assert [s.name for s in listed.secrets] == ["hook_token_2"]
    assert "s3cret-value" not in str(emulator_server.state()) and "another-value" not in str(raw)

    settings.update(conversation_initiation_client_data_webhook=None)
    assert recorder.last("PATCH", "/v1/convai/settings")["conversation_initiation_client_data_webhook"] is None
    secrets.delete(sid)
    with pytest.raises(ApiError) as err:
        secrets.get(sid)
    assert err.value.status_code == 404


def test_outbound_calls(sdk: ElevenLabs, recorder: Recorder) -> None:
    numbers = sdk.conversational_ai.phone_numbers
    agent_id = make_agent(sdk, recorder)
    twilio_id = numbers.create(request=twilio_body()).phone_number_id
    sip_id = numbers.create(request=sip_body()).phone_number_id
    inbound_only = numbers.create(
        request=PhoneNumbersCreateRequestBody_SipTrunk(phone_number="+15550003333", label="in-only")
    ).phone_number_id

    result = sdk.conversational_ai.twilio.outbound_call(
        agent_id=agent_id, agent_phone_number_id=twilio_id, to_number="+15550009999"
    )
    raw = recorder.last("POST", "/v1/convai/twilio/outbound-call")
    strict(TwilioOutboundCallResponse, raw)
    assert raw["success"] is True and raw["conversation_id"].startswith("conv_") and raw["callSid"].startswith("CA")
    assert result.call_sid == raw["callSid"]

    sdk.conversational_ai.sip_trunk.outbound_call(agent_id=agent_id, agent_phone_number_id=sip_id, to_number="+1555")
    raw = recorder.last("POST", "/v1/convai/sip-trunk/outbound-call")
    strict(SipTrunkOutboundCallResponse, raw)
    assert raw["success"] is True and raw["conversation_id"].startswith("conv_")

    for call, number in (
        (sdk.conversational_ai.twilio.outbound_call, sip_id),
        (sdk.conversational_ai.sip_trunk.outbound_call, twilio_id),
        (sdk.conversational_ai.sip_trunk.outbound_call, inbound_only),
    ):
        with pytest.raises(ApiError) as err:
            call(agent_id=agent_id, agent_phone_number_id=number, to_number="+15550009999")
        assert err.value.status_code == 400
    with pytest.raises(ApiError) as err:
        sdk.conversational_ai.twilio.outbound_call(
            agent_id="agent_missing", agent_phone_number_id=twilio_id, to_number="+1555"
        )
    assert err.value.status_code == 404


def test_batch_lifecycle(sdk: ElevenLabs, recorder: Recorder, emulator_server: EmulatorServer) -> None:
    batch_calls = sdk.conversational_ai.batch_calls
    agent_id = make_agent(sdk, recorder, "Dialer")
    pid = sdk.conversational_ai.phone_numbers.create(request=twilio_body()).phone_number_id
    recipients = [OutboundCallRecipient(phone_number=p) for p in ("+15550000001", "+15550000009", "+15550000008")]
    batch = batch_calls.create(call_name="nightly", agent_id=agent_id, recipients=recipients, agent_phone_number_id=pid)
    raw = recorder.last("POST", "/v1/convai/batch-calling/submit")
    strict(BatchCallResponse, raw)
    assert batch.id.startswith("btcal_") and raw["phone_provider"] == "twilio" and raw["agent_name"] == "Dialer"
    assert raw["total_calls_finished"] == 0 and raw["retry_count"] == 0 and raw["total_calls_scheduled"] == 3

    emulator_server.advance_clock(10)
    batch_calls.get(batch.id)
    raw = recorder.last("GET", f"/v1/convai/batch-calling/{batch.id}")
    strict(BatchCallDetailedResponse, raw)
    assert raw["status"] == "in_progress"
    assert {r["status"] for r in raw["recipients"]} == {"in_progress"}
    assert all(r["id"].startswith("rcpt_") and r["conversation_id"].startswith("conv_") for r in raw["recipients"])

    emulator_server.advance_clock(120)
    batch_calls.get(batch.id)
    raw = recorder.last("GET", f"/v1/convai/batch-calling/{batch.id}")
    assert raw["status"] == "completed" and raw["total_calls_finished"] == 3
    assert [r["status"] for r in raw["recipients"]] == ["completed", "failed", "voicemail"]

    batch_calls.retry(batch.id)
    raw = recorder.last("POST", f"/v1/convai/batch-calling/{batch.id}/retry")
    strict(BatchCallResponse, raw)
    assert raw["retry_count"] == 1 and raw["status"] == "in_progress"
    emulator_server.advance_clock(120)
    batch_calls.get(batch.id)
    raw = recorder.last("GET", f"/v1/convai/batch-calling/{batch.id}")
    assert [r["status"] for r in raw["recipients"]] == ["completed", "completed", "completed"]

    second = batch_calls.create(call_name="later", agent_id=agent_id, recipients=recipients, agent_phone_number_id=pid)
    batch_calls.cancel(second.id)
    raw = recorder.last("POST", f"/v1/convai/batch-calling/{second.id}/cancel")
    strict(BatchCallResponse, raw)
    assert raw["status"] == "cancelled"
    batch_calls.get(second.id)
    assert {r["status"] for r in recorder.last("GET", f"/v1/convai/batch-calling/{second.id}")["recipients"]} == {
        "cancelled"
    }

    first_page = batch_calls.list(limit=1)
    strict(WorkspaceBatchCallsResponse, recorder.last("GET", "/v1/convai/batch-calling/workspace"))
    assert first_page.has_more is True and [b.id for b in first_page.batch_calls] == [second.id]
    second_page = batch_calls.list(limit=1, last_doc=first_page.next_doc)
    assert [b.id for b in second_page.batch_calls] == [batch.id] and second_page.has_more is False

    assert batch_calls.delete(second.id) is None
    with pytest.raises(ApiError) as err:
        batch_calls.get(second.id)
    assert err.value.status_code == 404


def test_error_bodies(sdk: ElevenLabs, recorder: Recorder, emulator_server: EmulatorServer) -> None:
    no_key = ElevenLabs(api_key="", base_url=emulator_server.url)
    with pytest.raises(ApiError) as err:
        no_key.conversational_ai.phone_numbers.list(request_options={"max_retries": 0})
    assert err.value.status_code == 401
    detail = err.value.body["detail"]
    assert detail["status"] == "needs_authorization"
    assert detail["message"] == "Neither authorization header nor xi-api-key received, please provide one."

    wrong = ElevenLabs(api_key="wrong-key", base_url=emulator_server.url)
    with pytest.raises(ApiError) as err:
        wrong.conversational_ai.phone_numbers.list()
    assert err.value.status_code == 401
    detail = err.value.body["detail"]
    assert (detail["type"], detail["code"], detail["status"], detail["message"]) == (
        "authentication_error",
        "unauthorized",
        "invalid_api_key",
        "Invalid API key",
    )
    assert len(detail["request_id"]) == 32

    with pytest.raises(ApiError) as err:
        sdk.conversational_ai.phone_numbers.get("phnum_missing")
    assert err.value.status_code == 404
    assert err.value.body["detail"]["status"] == "document_not_found"
    assert err.value.body["detail"]["message"] == "Document with id phnum_missing not found."

    sdk.conversational_ai.phone_numbers.create(request=twilio_body())
    with pytest.raises(ApiError) as err:
        sdk.conversational_ai.phone_numbers.create(request=twilio_body())
    assert err.value.status_code == 400  # not 409, which the SDK would retry twice
    assert err.value.body["detail"]["code"] == "phone_number_already_exists"
    assert emulator_server.stats()["routes"]["POST /v1/convai/phone-numbers"] == 2

    with pytest.raises(UnprocessableEntityError) as unprocessable:
        sdk.conversational_ai.phone_numbers.update("phnum_x", livekit_stack="bogus")  # type: ignore[arg-type]
    detail_list = unprocessable.value.body["detail"]
    assert detail_list[0]["loc"] == ["body", "livekit_stack"] and detail_list[0]["type"] == "literal_error"

    # 422 comes before auth, as on the real API.
    with httpx.Client(base_url=emulator_server.url) as raw_client:
        response = raw_client.post("/v1/convai/phone-numbers", json={"provider": "twilio", "label": "x"})
    assert response.status_code == 422
    locs = [e["loc"] for e in response.json()["detail"]]
    assert ["body", "CreateTwilioPhoneNumberRequest", "sid"] in locs
