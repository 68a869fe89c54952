"""Every model in `provisioner.api.wire_calls` agrees with the official OpenAPI spec (the checks of
tests/test_wire_spec.py, applied to the outbound-call and batch-calling operations)."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import BaseModel

from provisioner.api import wire_calls
from tests.test_wire_spec import (
    _models_in,
    field_problems,
    minimal,
    pointer,
    request_pointer,
    response_members,
    response_schema,
    validate,
)

TWILIO = "/v1/convai/twilio/outbound-call"
SIP = "/v1/convai/sip-trunk/outbound-call"
SUBMIT = "/v1/convai/batch-calling/submit"
LIST = "/v1/convai/batch-calling/workspace"
BATCH = "/v1/convai/batch-calling/{batch_id}"
CANCEL = "/v1/convai/batch-calling/{batch_id}/cancel"
RETRY = "/v1/convai/batch-calling/{batch_id}/retry"

DATA = wire_calls.ClientData(
    dynamic_variables={"order_id": "42", "n": 1},
    conversation_config_override={"agent": {"language": "es", "first_message": "Hola"}},
)
CALL = wire_calls.OutboundCallRequest(
    agent_id="agent_1",
    agent_phone_number_id="phnum_1",
    to_number="+14155550100",
    conversation_initiation_client_data=DATA,
)
MINIMAL_CALL = wire_calls.OutboundCallRequest(agent_id="agent_1", agent_phone_number_id="phnum_1", to_number="+1415")
BATCH_REQUEST = wire_calls.SubmitBatchRequest(
    call_name="reminders",
    agent_id="agent_1",
    agent_phone_number_id="phnum_1",
    recipients=[
        wire_calls.BatchRecipient(phone_number="+14155550100", conversation_initiation_client_data=DATA),
        wire_calls.BatchRecipient(phone_number="+14155550101"),
    ],
    scheduled_time_unix=1_900_000_000,
)
REQUESTS: list[tuple[str, BaseModel, str]] = [
    ("twilio-full", CALL, TWILIO),
    ("sip-full", CALL, SIP),
    ("twilio-minimal", MINIMAL_CALL, TWILIO),
    ("sip-minimal", MINIMAL_CALL, SIP),
    ("batch-full", BATCH_REQUEST, SUBMIT),
]
RESPONSES: list[tuple[type[BaseModel], str, str]] = [
    (wire_calls.TwilioCallResponse, "POST", TWILIO),
    (wire_calls.SipCallResponse, "POST", SIP),
    (wire_calls.BatchCallResponse, "POST", SUBMIT),
    (wire_calls.BatchCallsPage, "GET", LIST),
    (wire_calls.BatchCallDetailedResponse, "GET", BATCH),
    (wire_calls.BatchCallResponse, "POST", CANCEL),
    (wire_calls.BatchCallResponse, "POST", RETRY),
]


@pytest.mark.parametrize(("model", "path"), [r[1:] for r in REQUESTS], ids=[r[0] for r in REQUESTS])
def test_request_bodies_validate_against_the_spec(model: Any, path: str) -> None:
    assert validate(model.body(), request_pointer("POST", path)) == []


@pytest.mark.parametrize(("model", "method", "path"), RESPONSES, ids=[f"{m.__name__}-{p}" for m, _, p in RESPONSES])
def test_response_models_match_the_spec(model: type[BaseModel], method: str, path: str) -> None:
    assert field_problems(model, response_members(response_schema(method, path))) == []
    ref = pointer("paths", path, method.lower(), "responses", "200", "content", "application/json", "schema")
    for member in response_members(response_schema(method, path)):
        body = minimal(member)
        assert validate(body, ref) == []
        model.model_validate(body)


def test_twilio_call_sid_is_read_from_its_camel_case_name() -> None:
    body = {"success": True, "message": "ok", "conversation_id": "conv_1", "callSid": "CA1"}
    assert wire_calls.TwilioCallResponse.model_validate(body).call_sid == "CA1"


def test_every_model_is_checked() -> None:
    declared = {
        obj
        for obj in vars(wire_calls).values()
        if isinstance(obj, type) and issubclass(obj, BaseModel) and obj.__module__ == wire_calls.__name__
    }
    checked: set[type[BaseModel]] = set()
    for model, _, _ in RESPONSES:
        checked |= _models_in(model)
    for _, request, _ in REQUESTS:
        checked |= _models_in(type(request))
    assert declared - checked == set()
