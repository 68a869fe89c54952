"""Schemathesis conformance: the official OpenAPI spec fuzzes the emulator's telephony operations.

Every operation the emulator implements (phone numbers, agents, settings, secrets, outbound
calls, batch calling) gets schemathesis' explicit examples, its coverage cases and a bounded run
of generated cases, positive and negative, against the real `emulator_server` process. Each
response must not be a 5xx (or a dropped connection) and must match the spec's schema for its
status. Undocumented statuses (404, 400, 401: real API behaviour the spec leaves out) are not
checked, so status-code conformance is excluded.

Generated path ids would only ever hit 404, so the test points them (and the `agent_id` /
`agent_phone_number_id` of call and batch bodies) at a workspace it seeds first; a DELETE gets a
fresh resource of its own. The run is deterministic (derandomized Hypothesis, no example
database) and bounded by `MAX_EXAMPLES` per operation.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error, response_schema_conformance

if TYPE_CHECKING:
    from provisioner.emulator.testing import EmulatorServer

SPEC_PATH = Path(__file__).parent / "data" / "elevenlabs-openapi.json"
MAX_EXAMPLES = 8  # generated cases per operation without a body, on top of examples and coverage
SEED = 20261125
BODY_MAX_EXAMPLES = 20  # generated cases per operation with a body (no coverage phase: see `with_body`)

# The operations the emulator implements (the spec has no `v2/phone-numbers` yet).
OPERATIONS: dict[str, tuple[str, ...]] = {
    "/v1/convai/phone-numbers": ("GET", "POST"),
    "/v1/convai/phone-numbers/{phone_number_id}": ("GET", "PATCH", "DELETE"),
    "/v1/convai/phone-numbers/{phone_number_id}/sip-messages": ("GET",),
    "/v1/convai/agents": ("GET",),
    "/v1/convai/agents/create": ("POST",),
    "/v1/convai/agents/{agent_id}": ("GET", "PATCH", "DELETE"),
    "/v1/convai/settings": ("GET", "PATCH"),
    "/v1/convai/secrets": ("GET", "POST"),
    "/v1/convai/secrets/{secret_id}": ("GET", "PATCH", "DELETE"),
    "/v1/convai/twilio/outbound-call": ("POST",),
    "/v1/convai/sip-trunk/outbound-call": ("POST",),
    "/v1/convai/batch-calling/submit": ("POST",),
    "/v1/convai/batch-calling/workspace": ("GET",),
    "/v1/convai/batch-calling/{batch_id}": ("GET", "DELETE"),
    "/v1/convai/batch-calling/{batch_id}/cancel": ("POST",),
    "/v1/convai/batch-calling/{batch_id}/retry": ("POST",),
}


def load_spec() -> dict[str, Any]:
    """The official spec with its two dangling refs aliased, as Prism users do."""
    spec: dict[str, Any] = json.loads(SPEC_PATH.read_text())
    alias = {"$ref": "#/components/schemas/DynamicVariablesConfig"}
    for suffix in ("-Input", "-Output"):
        spec["components"]["schemas"].setdefault(f"DynamicVariablesConfig{suffix}", alias)
    return spec


def _selected(ctx: Any) -> bool:
    return ctx.operation.method.upper() in OPERATIONS.get(ctx.operation.path, ())


SPEC = load_spec()


def _with_body(ctx: Any) -> bool:
    operation = ctx.operation
    return _selected(ctx) and "requestBody" in SPEC["paths"][operation.path][operation.method.lower()]


schema = (
    schemathesis.openapi.from_dict(SPEC, config=schemathesis.Config.from_dict({"seed": SEED}))
    .include(_selected)
    .exclude(_with_body)
)
# Operations with a JSON body get examples and generated cases but no coverage phase: its
# one-mutation-per-keyword negative cases run to thousands per body (tens of thousands for the
# agent model), far past the time budget, while the generated cases reach the same code.
with_body = schemathesis.openapi.from_dict(
    SPEC, config=schemathesis.Config.from_dict({"seed": SEED, "phases": {"coverage": {"enabled": False}}})
).include(_with_body)


def seed_workspace(client: httpx.Client) -> dict[str, str]:
    """An agent, a Twilio number, a SIP number with an outbound trunk, a secret and a batch."""

    def post(path: str, body: dict[str, Any]) -> dict[str, Any]:
        response = client.post(path, json=body)
        assert response.status_code == 200, response.text
        result: dict[str, Any] = response.json()
        return result

    agent_id = post("/v1/convai/agents/create", {"conversation_config": {}, "name": "Fuzz"})["agent_id"]
    twilio = post(
        "/v1/convai/phone-numbers",
        {"provider": "twilio", "phone_number": "+15550001111", "label": "tw", "sid": "AC1", "token": "t"},
    )["phone_number_id"]
    sip = post(
        "/v1/convai/phone-numbers",
        {
            "provider": "sip_trunk",
            "phone_number": "+15550002222",
            "label": "sip",
            "outbound_trunk_config": {"address": "sip.example.test"},
        },
    )["phone_number_id"]
    secret = post("/v1/convai/secrets", {"type": "new", "name": "fuzz", "value": "x"})["secret_id"]
    batch = post(
        "/v1/convai/batch-calling/submit",
        {
            "call_name": "fuzz",
            "agent_id": agent_id,
            "agent_phone_number_id": twilio,
            "recipients": [{"phone_number": "+15550003333"}],
        },
    )["id"]
    return {
        "agent_id": agent_id,
        "phone_number_id": twilio,
        "sip_number_id": sip,
        "secret_id": secret,
        "batch_id": batch,
    }


def fresh_id(client: httpx.Client, kind: str, ids: dict[str, str]) -> str:
    """A new resource for a DELETE case to delete."""
    if kind == "agent_id":
        response = client.post("/v1/convai/agents/create", json={"conversation_config": {}})
    elif kind == "phone_number_id":
        number = f"+1555{len(client.get('/v1/convai/phone-numbers').json()) + 1000000:07d}"
        body = {"provider": "sip_trunk", "phone_number": number, "label": "del"}
        response = client.post("/v1/convai/phone-numbers", json=body)
    elif kind == "secret_id":
        response = client.post("/v1/convai/secrets", json={"type": "new", "name": "del", "value": "x"})
    else:
        body = {"call_name": "del", "agent_id": ids["agent_id"], "recipients": [{"phone_number": "+15550004444"}]}
        body["agent_phone_number_id"] = ids["phone_number_id"]
        response = client.post("/v1/convai/batch-calling/submit", json=body)
    assert response.status_code == 200, response.text
    data = response.json()
    return str(data.get(kind) or data["id"])


def point_at_workspace(case: Any, client: httpx.Client, ids: dict[str, str]) -> None:
    for name in case.path_parameters or {}:
        if name in ids:
            case.path_parameters[name] = fresh_id(client, name, ids) if case.method == "DELETE" else ids[name]
    if isinstance(case.body, dict) and re.search(r"outbound-call|batch-calling/submit", case.path):
        number = ids["sip_number_id"] if "sip-trunk" in case.path else ids["phone_number_id"]
        if isinstance(case.body.get("agent_id"), str):
            case.body["agent_id"] = ids["agent_id"]
        if isinstance(case.body.get("agent_phone_number_id"), str):
            case.body["agent_phone_number_id"] = number


@pytest.fixture
def workspace(emulator_server: EmulatorServer) -> dict[str, str]:
    with emulator_server.client() as client:
        return seed_workspace(client)


def test_selection_covers_every_implemented_operation() -> None:
    selected = {
        (op.method.upper(), op.path)
        for source in (schema, with_body)
        for op in (result.ok() for result in source.get_all_operations())
    }
    wanted = {(method, path) for path, methods in OPERATIONS.items() for method in methods}
    assert selected == wanted


FUZZ = settings(
    max_examples=MAX_EXAMPLES,
    derandomize=True,
    database=None,
    deadline=None,
    suppress_health_check=list(HealthCheck),
)


def check(case: Any, server: EmulatorServer, workspace: dict[str, str]) -> None:
    with server.client() as client:
        point_at_workspace(case, client, workspace)
    case.headers = {**(case.headers or {}), "xi-api-key": server.api_key}
    case.call_and_validate(base_url=server.url, checks=[not_a_server_error, response_schema_conformance], timeout=10)


@schema.parametrize()
@FUZZ
def test_conforms_to_spec(case: Any, emulator_server: EmulatorServer, workspace: dict[str, str]) -> None:
    check(case, emulator_server, workspace)


@with_body.parametrize()
@settings(FUZZ, max_examples=BODY_MAX_EXAMPLES)
def test_bodies_conform_to_spec(case: Any, emulator_server: EmulatorServer, workspace: dict[str, str]) -> None:
    check(case, emulator_server, workspace)
