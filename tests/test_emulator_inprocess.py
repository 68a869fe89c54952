"""The emulator in-process (httpx.ASGITransport): store helpers, drop-fields, 422s against the spec."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx
import pytest
from fastapi import FastAPI

from provisioner.emulator import EmulatorTransport, build_app
from provisioner.emulator.testing import inprocess_controls

if TYPE_CHECKING:
    from conftest import OpenApiValidator

pytestmark = pytest.mark.anyio
SIP = {
    "provider": "sip_trunk",
    "phone_number": "+15550002222",
    "label": "pbx",
    "inbound_trunk_config": {"credentials": {"username": "in", "password": "inbound-pass"}},
    "outbound_trunk_config": {"address": "sip.example.test", "credentials": {"username": "u", "password": "p-1"}},
}


async def test_missing_password_keeps_the_stored_one(asgi_client: httpx.AsyncClient, emulator_app: FastAPI) -> None:
    pid = (await asgi_client.post("/v1/convai/phone-numbers", json=SIP)).json()["phone_number_id"]
    store = emulator_app.state.store
    original = store.numbers[pid]["outbound_trunk"]["password_fp"]
    assert original.startswith("sha256:") and "p-1" not in original
    body = {"outbound_trunk_config": {"address": "10.0.0.1", "credentials": {"username": "u"}}}
    response = await asgi_client.patch(f"/v1/convai/phone-numbers/{pid}", json=body)
    assert response.json()["outbound_trunk"]["has_auth_credentials"] is True
    assert store.numbers[pid]["outbound_trunk"]["password_fp"] == original
    body = {"outbound_trunk_config": {"address": "10.0.0.1", "credentials": {"username": "u", "password": "p-2"}}}
    await asgi_client.patch(f"/v1/convai/phone-numbers/{pid}", json=body)
    assert store.numbers[pid]["outbound_trunk"]["password_fp"] != original
    await asgi_client.patch(f"/v1/convai/phone-numbers/{pid}", json={"outbound_trunk_config": {"address": "x"}})
    assert (await asgi_client.get(f"/v1/convai/phone-numbers/{pid}")).json()["outbound_trunk"][
        "has_auth_credentials"
    ] is False


async def test_drop_fields_switch(asgi_client: httpx.AsyncClient) -> None:
    path = "platform_settings.overrides.enable_conversation_initiation_client_data_from_webhook"
    resp = await asgi_client.put("/_emulator/drop-fields", json={"paths": [path, "label"]})
    assert resp.status_code == 200
    agent_id = (await asgi_client.post("/v1/convai/agents/create", json={"conversation_config": {}})).json()["agent_id"]
    patch = {"name": "kept", "platform_settings": {"overrides": {path.rsplit(".", 1)[1]: True}}}
    agent = (await asgi_client.patch(f"/v1/convai/agents/{agent_id}", json=patch)).json()
    assert agent["name"] == "kept"
    assert agent["platform_settings"]["overrides"]["enable_conversation_initiation_client_data_from_webhook"] is False
    pid = (await asgi_client.post("/v1/convai/phone-numbers", json=SIP)).json()["phone_number_id"]
    number = (await asgi_client.patch(f"/v1/convai/phone-numbers/{pid}", json={"label": "new"})).json()
    assert number["label"] == ""  # dropped on create (required: empty) and on PATCH (kept)
    await asgi_client.put("/_emulator/drop-fields", json={"paths": ["outbound_trunk_config.transport"]})
    trunk = {"address": "10.0.0.2", "transport": "udp"}
    number = (await asgi_client.patch(f"/v1/convai/phone-numbers/{pid}", json={"outbound_trunk_config": trunk})).json()
    assert number["outbound_trunk"]["address"] == "10.0.0.2"
    assert number["outbound_trunk"]["transport"] == "auto"  # dropped: the stored value stays
    await asgi_client.delete("/_emulator/drop-fields")
    number = (await asgi_client.patch(f"/v1/convai/phone-numbers/{pid}", json={"label": "new"})).json()
    assert number["label"] == "new"


async def test_ensure_agent_and_assigned_agent_follows_renames(
    asgi_client: httpx.AsyncClient, emulator_app: FastAPI
) -> None:
    store = emulator_app.state.store
    store.ensure_agent("agent_fixed", name="Alias")
    store.ensure_agent("agent_fixed", name="Ignored")  # idempotent
    body = {**SIP, "agent_id": "agent_fixed"}
    pid = (await asgi_client.post("/v1/convai/phone-numbers", json=body)).json()["phone_number_id"]
    assert (await asgi_client.get("/v1/convai/phone-numbers")).json()[0]["assigned_agent"]["agent_name"] == "Alias"
    await asgi_client.patch("/v1/convai/agents/agent_fixed", json={"name": "Renamed"})
    listed = (await asgi_client.get("/v1/convai/phone-numbers")).json()
    assert listed[0]["assigned_agent"]["agent_name"] == "Renamed"
    assert (await asgi_client.get(f"/v1/convai/phone-numbers/{pid}")).json()["assigned_agent"]["agent_id"] == (
        "agent_fixed"
    )
    missing = await asgi_client.patch(f"/v1/convai/phone-numbers/{pid}", json={"agent_id": "agent_nope"})
    assert missing.status_code == 404
    await asgi_client.delete("/v1/convai/agents/agent_fixed")
    assert (await asgi_client.get(f"/v1/convai/phone-numbers/{pid}")).json()["assigned_agent"] is None


async def test_bearer_auth_and_key_list() -> None:
    app = build_app(api_keys=["good"])
    async with httpx.AsyncClient(transport=EmulatorTransport(app), base_url="http://e") as c:
        assert (await c.get("/v1/convai/settings", headers={"authorization": "Bearer good"})).status_code == 200
        assert (await c.get("/v1/convai/settings", headers={"xi-api-key": "bad"})).status_code == 401
        assert (await c.get("/v1/convai/settings")).status_code == 401


async def test_seed_mapping_and_state_file_without_secrets(tmp_path: Path) -> None:
    state_file = tmp_path / "sandbox.json"
    seed: dict[str, Any] = {
        "agents": [{"agent_id": "agent_a", "name": "A"}],
        "phone_numbers": [{**SIP, "phone_number_id": "phnum_seeded", "agent_id": "agent_a"}],
        "secrets": [{"name": "s", "value": "seed-secret"}],
    }
    app = build_app(state_file=state_file, seed=seed)
    async with httpx.AsyncClient(
        transport=EmulatorTransport(app), base_url="http://e", headers={"xi-api-key": "k"}
    ) as c:
        agent = (await c.get("/v1/convai/agents/agent_a")).json()
        assert [n["phone_number_id"] for n in agent["phone_numbers"]] == ["phnum_seeded"]
    text = state_file.read_text()
    for secret in ("inbound-pass", "p-1", "seed-secret"):
        assert secret not in text
    reloaded = build_app(state_file=state_file, seed={"agents": [{"agent_id": "agent_other"}]})
    agents = (await inprocess_controls(reloaded).state())["agents"]
    assert [a["agent_id"] for a in agents] == ["agent_a"]  # an existing state file wins over the seed
    assert json.loads(text)["version"] == 1


# One invalid request per endpoint: each 422 body must match the spec's HTTPValidationError.
INVALID: list[tuple[str, str, Any]] = [
    ("POST", "/v1/convai/phone-numbers", {"provider": "carrier-pigeon", "phone_number": "+1", "label": "x"}),
    ("POST", "/v1/convai/phone-numbers", {"provider": "twilio", "phone_number": "+1", "label": "x"}),
    ("GET", "/v1/convai/phone-numbers?provider=fax", None),
    ("PATCH", "/v1/convai/phone-numbers/phnum_x", {"outbound_trunk_config": {"transport": "pigeon"}}),
    ("PATCH", "/v1/convai/phone-numbers/phnum_x", {"inbound_trunk_config": {"media_encryption": "maybe"}}),
    ("GET", "/v1/convai/phone-numbers/phnum_x/sip-messages?page_size=50", None),
    ("POST", "/v1/convai/agents/create", {"name": "no config"}),
    ("GET", "/v1/convai/agents?page_size=0", None),
    (
        "PATCH",
        "/v1/convai/agents/agent_x",
        {
            "conversation_config": {
                "agent": {
                    "prompt": {
                        "built_in_tools": {
                            "transfer_to_number": {
                                "name": "transfer_to_number",
                                "params": {
                                    "system_tool_type": "transfer_to_number",
                                    "transfers": [
                                        {
                                            "transfer_destination": {"type": "phone", "phone_number": "+1"},
                                            "condition": "c",
                                            "transfer_type": "teleport",
                                        }
                                    ],
                                },
                            }
                        }
                    }
                }
            }
        },
    ),
    (
        "PATCH",
        "/v1/convai/agents/agent_x",
        {"conversation_config": {"agent": {"prompt": {"built_in_tools": {"transfer_to_agent": {"name": "t"}}}}}},
    ),
    ("PATCH", "/v1/convai/settings", {"rag_retention_period_days": 99}),
    ("POST", "/v1/convai/secrets", {"type": "new", "name": "x"}),
    ("PATCH", "/v1/convai/secrets/s_x", {"type": "update", "name": "x"}),
    ("GET", "/v1/convai/secrets?page_size=1000", None),
    ("POST", "/v1/convai/twilio/outbound-call", {"agent_id": "a", "to_number": "+1"}),
    ("POST", "/v1/convai/sip-trunk/outbound-call", {"agent_id": "a", "agent_phone_number_id": "p"}),
    ("POST", "/v1/convai/batch-calling/submit", {"call_name": "x", "agent_id": "a"}),
    (
        "POST",
        "/v1/convai/batch-calling/submit",
        {"call_name": "x", "agent_id": "a", "recipients": [{"phone_number": "+1"}] * 10001},
    ),
    ("GET", "/v1/convai/batch-calling/workspace?limit=0", None),
]


@pytest.mark.parametrize(("method", "url", "body"), INVALID)
async def test_422_bodies_match_the_spec_and_come_before_auth(
    method: str, url: str, body: Any, openapi: OpenApiValidator
) -> None:
    app = build_app(api_keys=["k"])
    async with httpx.AsyncClient(transport=EmulatorTransport(app), base_url="http://e") as c:  # no key at all
        response = await c.request(method, url, json=body)
    assert response.status_code == 422, response.text
    detail = response.json()["detail"]
    assert isinstance(detail, list) and all({"type", "loc", "msg"} <= set(d) for d in detail)
    assert openapi.validate(method, url.split("?")[0], 422, response.json())


async def _agent_and_number(c: httpx.AsyncClient) -> tuple[str, str]:
    agent_id = (await c.post("/v1/convai/agents/create", json={"conversation_config": {}, "name": "D"})).json()[
        "agent_id"
    ]
    pid = (await c.post("/v1/convai/phone-numbers", json=SIP)).json()["phone_number_id"]
    return agent_id, pid


async def test_scheduled_batch_waits_then_cancel_stops_the_rest(asgi_client: httpx.AsyncClient) -> None:
    agent_id, pid = await _agent_and_number(asgi_client)
    now = (await asgi_client.get("/_emulator/clock")).json()["now"]
    body = {
        "call_name": "later",
        "agent_id": agent_id,
        "agent_phone_number_id": pid,
        "scheduled_time_unix": int(now) + 3600,
        "target_concurrency_limit": 1,
        "recipients": [{"phone_number": "+15550000001"}, {"phone_number": "+15550000002", "id": "mine"}],
    }
    batch = (await asgi_client.post("/v1/convai/batch-calling/submit", json=body)).json()
    assert batch["status"] == "pending" and batch["scheduled_time_unix"] == int(now) + 3600
    assert batch["phone_provider"] == "sip_trunk" and batch["telephony_call_config"]["ringing_timeout_secs"] == 60
    await asgi_client.post("/_emulator/clock/advance", json={"seconds": 3610})
    got = (await asgi_client.get(f"/v1/convai/batch-calling/{batch['id']}")).json()
    assert got["status"] == "in_progress"
    assert [r["status"] for r in got["recipients"]] == ["in_progress", "pending"]  # concurrency 1
    assert got["recipients"][1]["id"] == "mine" and got["recipients"][1]["conversation_id"] is None
    cancelled = (await asgi_client.post(f"/v1/convai/batch-calling/{batch['id']}/cancel")).json()
    assert cancelled["status"] == "cancelled"
    got = (await asgi_client.get(f"/v1/convai/batch-calling/{batch['id']}")).json()
    assert [r["status"] for r in got["recipients"]] == ["cancelled", "cancelled"]
    assert got["recipients"][0]["conversation_id"] and got["recipients"][1]["conversation_id"] is None
    retry = await asgi_client.post(f"/v1/convai/batch-calling/{batch['id']}/retry")
    assert retry.status_code == 400
    missing = await asgi_client.post("/v1/convai/batch-calling/submit", json={**body, "agent_id": "agent_nope"})
    assert missing.status_code == 404
    assert (await asgi_client.delete(f"/v1/convai/batch-calling/{batch['id']}")).status_code == 204


async def test_settings_patch_is_partial(asgi_client: httpx.AsyncClient) -> None:
    settings = (await asgi_client.patch("/v1/convai/settings", json={"webhooks": {"events": ["transcript"]}})).json()
    assert settings["webhooks"] == {"post_call_webhook_id": None, "events": ["transcript"], "transcript_format": "json"}
    settings = (await asgi_client.patch("/v1/convai/settings", json={"default_livekit_stack": "static"})).json()
    assert settings["webhooks"]["events"] == ["transcript"] and settings["default_livekit_stack"] == "static"
    hook = {"url": "https://h.example.test", "request_headers": {"X-Secret": {"secret_id": "nope"}}}
    missing = await asgi_client.patch("/v1/convai/settings", json={"conversation_initiation_client_data_webhook": hook})
    assert missing.status_code == 404
    # A SIP number imported now takes the workspace's default stack.
    pid = (await asgi_client.post("/v1/convai/phone-numbers", json=SIP)).json()["phone_number_id"]
    assert (await asgi_client.get(f"/v1/convai/phone-numbers/{pid}")).json()["livekit_stack"] == "static"


async def test_duplicates_are_configurable() -> None:
    app = build_app(allow_duplicate_numbers=True)
    async with httpx.AsyncClient(
        transport=EmulatorTransport(app), base_url="http://e", headers={"xi-api-key": "k"}
    ) as c:
        assert (await c.post("/v1/convai/phone-numbers", json=SIP)).status_code == 200
        assert (await c.post("/v1/convai/phone-numbers", json=SIP)).status_code == 200
        assert len((await c.get("/v1/convai/phone-numbers")).json()) == 2


async def test_other_system_tools_pass_through(asgi_client: httpx.AsyncClient) -> None:
    agent_id = (await asgi_client.post("/v1/convai/agents/create", json={"conversation_config": {}})).json()["agent_id"]
    tools = {
        "end_call": {"name": "end_call", "params": {"system_tool_type": "end_call"}},
        "transfer_to_agent": {
            "name": "transfer_to_agent",
            "params": {
                "system_tool_type": "transfer_to_agent",
                "transfers": [{"agent_id": "agent_b", "condition": "c"}],
            },
        },
    }
    body = {"conversation_config": {"agent": {"prompt": {"built_in_tools": tools}}}}
    agent = (await asgi_client.patch(f"/v1/convai/agents/{agent_id}", json=body)).json()
    built_in = agent["conversation_config"]["agent"]["prompt"]["built_in_tools"]
    assert built_in["end_call"]["params"] == {"system_tool_type": "end_call"}
    assert built_in["transfer_to_agent"]["params"]["transfers"][0]["delay_ms"] == 0
    assert built_in["transfer_to_agent"]["tool_error_handling_mode"] == "auto"
    assert built_in["transfer_to_number"] is None


async def test_exotel_import_and_secret_dependencies(asgi_client: httpx.AsyncClient, openapi: OpenApiValidator) -> None:
    exotel = {
        "provider": "exotel",
        "phone_number": "+911234567890",
        "label": "india",
        "account_sid": "acc",
        "api_key": "exotel-key",
        "api_token": "exotel-token",
        "api_subdomain": "api.in.exotel.com",
        "app_id": "app",
    }
    pid = (await asgi_client.post("/v1/convai/phone-numbers", json=exotel)).json()["phone_number_id"]
    number = (await asgi_client.get(f"/v1/convai/phone-numbers/{pid}")).json()
    assert number["provider"] == "exotel" and "api_token" not in number and "api_key" not in number
    assert openapi.validate("GET", f"/v1/convai/phone-numbers/{pid}", 200, number)

    secret = (await asgi_client.post("/v1/convai/secrets", json={"type": "new", "name": "s", "value": "v"})).json()
    agent_id = (await asgi_client.post("/v1/convai/agents/create", json={"conversation_config": {}})).json()["agent_id"]
    hook = {"url": "https://h.example.test", "request_headers": {"X-Key": {"secret_id": secret["secret_id"]}}}
    patch = {"platform_settings": {"workspace_overrides": {"conversation_initiation_client_data_webhook": hook}}}
    agent = (await asgi_client.patch(f"/v1/convai/agents/{agent_id}", json=patch)).json()
    assert openapi.validate("PATCH", f"/v1/convai/agents/{agent_id}", 200, agent)
    url = f"/v1/convai/secrets/{secret['secret_id']}/dependencies/agents"
    deps = (await asgi_client.get(url)).json()
    assert [d["id"] for d in deps["dependencies"]] == [agent_id]
    assert openapi.validate("GET", url, 200, deps)
    assert (await asgi_client.delete(f"/v1/convai/secrets/{secret['secret_id']}")).status_code == 400


@pytest.mark.parametrize(
    ("body", "loc"),
    [
        ({"conversation_config": {"turn": {"turn_timeout": "abc"}}}, ["conversation_config", "turn", "turn_timeout"]),
        ({"conversation_config": {"asr": {"quality": "__not_in_enum__"}}}, ["conversation_config", "asr", "quality"]),
        ({"conversation_config": {"agent": {"language": 7}}}, ["conversation_config", "agent", "language"]),
        ({"platform_settings": {"call_limits": {"daily_limit": "x"}}}, ["platform_settings", "call_limits"]),
        (
            {"platform_settings": {"alerting": {"notifiers": [{"type": "integration"}]}}},
            ["platform_settings", "alerting"],
        ),
    ],
)
async def test_agent_config_of_the_wrong_shape_is_a_422(
    asgi_client: httpx.AsyncClient, openapi: OpenApiValidator, body: dict[str, Any], loc: list[str]
) -> None:
    """Schemathesis found these stored as sent, so every later GET of the agent broke the spec."""
    agent_id = (await asgi_client.post("/v1/convai/agents/create", json={"conversation_config": {}})).json()["agent_id"]
    before = (await asgi_client.get(f"/v1/convai/agents/{agent_id}")).json()
    for method, url, sent in (
        ("PATCH", f"/v1/convai/agents/{agent_id}", body),
        ("POST", "/v1/convai/agents/create", {"conversation_config": {}, **body}),
    ):
        response = await asgi_client.request(method, url, json=sent)
        assert response.status_code == 422, response.text
        assert response.json()["detail"][0]["loc"][: len(loc) + 1] == ["body", *loc]
        assert openapi.validate(method, url, 422, response.json())
    after = (await asgi_client.get(f"/v1/convai/agents/{agent_id}")).json()
    assert after == before
    assert openapi.validate("GET", f"/v1/convai/agents/{agent_id}", 200, after)
    listed = (await asgi_client.get("/v1/convai/agents")).json()["agents"]
    assert [a["agent_id"] for a in listed] == [agent_id]  # the refused create stored nothing


async def test_agent_config_of_the_right_shape_is_still_merged(asgi_client: httpx.AsyncClient) -> None:
    agent_id = (await asgi_client.post("/v1/convai/agents/create", json={"conversation_config": {}})).json()["agent_id"]
    body = {"conversation_config": {"turn": {"turn_timeout": 9}, "agent": {"prompt": {"prompt": "Be brief"}}}}
    response = await asgi_client.patch(f"/v1/convai/agents/{agent_id}", json=body)
    assert response.status_code == 200, response.text
    config = response.json()["conversation_config"]
    assert config["turn"]["turn_timeout"] == 9 and config["agent"]["prompt"]["prompt"] == "Be brief"
    assert config["agent"]["prompt"]["llm"] == "gemini-2.5-flash"  # merged, not replaced


async def test_a_partial_nested_object_is_stored_whole(
    asgi_client: httpx.AsyncClient, openapi: OpenApiValidator
) -> None:
    """Schemathesis found a partial `audio_effects` returned as sent; the response schema requires
    every `EffectsSpec` field, which the API materialises (defaults, else null)."""
    agent_id = (await asgi_client.post("/v1/convai/agents/create", json={"conversation_config": {}})).json()["agent_id"]
    body = {"conversation_config": {"tts": {"audio_effects": {"background_noise_id": "rain", "seed": None}}}}
    response = await asgi_client.patch(f"/v1/convai/agents/{agent_id}", json=body)
    assert response.status_code == 200, response.text
    effects = response.json()["conversation_config"]["tts"]["audio_effects"]
    assert effects == {
        "background_noise_id": "rain",
        "seed": None,
        "filter_preset_id": None,
        "environment_id": None,
        "distance": 0,
        "send_level": 1,
    }
    assert openapi.validate("PATCH", f"/v1/convai/agents/{agent_id}", 200, response.json())


async def test_a_body_nested_too_deep_is_a_422_not_a_500(
    asgi_client: httpx.AsyncClient, openapi: OpenApiValidator
) -> None:
    """Schemathesis-style junk: free-form objects nested 300 deep crashed pydantic's serialiser."""
    agent_id, pid = await _agent_and_number(asgi_client)
    deep = '{"a":' * 300 + "1" + "}" * 300
    recipient = f'{{"phone_number":"+15550009999","conversation_initiation_client_data":{deep}}}'
    cases = [
        ("POST", "/v1/convai/agents/create", f'{{"conversation_config":{{"x":{deep}}}}}'),
        ("PATCH", f"/v1/convai/agents/{agent_id}", f'{{"workflow":{deep}}}'),
        ("PATCH", f"/v1/convai/agents/{agent_id}", f'{{"procedures":{deep}}}'),
        (
            "POST",
            "/v1/convai/batch-calling/submit",
            f'{{"call_name":"x","agent_id":"{agent_id}","agent_phone_number_id":"{pid}","recipients":[{recipient}]}}',
        ),
    ]
    for method, url, body in cases:
        response = await asgi_client.request(method, url, content=body, headers={"content-type": "application/json"})
        assert response.status_code == 422, (url, response.text)
        assert openapi.validate(method, url, 422, response.json())
    shallow = {"conversation_config": {"agent": {"dynamic_variables": {"dynamic_variable_placeholders": {"a": "b"}}}}}
    assert (await asgi_client.post("/v1/convai/agents/create", json=shallow)).status_code == 200


async def test_a_tool_parameter_schema_is_answered_without_its_input_only_kind(
    asgi_client: httpx.AsyncClient, openapi: OpenApiValidator
) -> None:
    # `property_kind` is in the request schemas of tool parameter schemas only: the response
    # schemas forbid it (additionalProperties: false), so the API answers without it.
    parameters = {
        "type": "object",
        "property_kind": "object",
        "description": "",
        "properties": {
            "property_kind": {"type": "string", "description": "a parameter that happens to have this name"},
            "items": {"type": "array", "property_kind": "array", "items": {"type": "string", "description": "x"}},
        },
        "constant_value": None,
    }
    tool = {
        "type": "mcp",
        "name": "lookup",
        "description": "Look a caller up",
        "integration_type": "mcp_server",
        "mcp_tool_name": "lookup",
        "mcp_tool_description": "Look a caller up",
        "mcp_server_id": "srv",
        "mcp_server_name": "crm",
        "parameters": parameters,
    }
    agent_id = (await asgi_client.post("/v1/convai/agents/create", json={"conversation_config": {}})).json()["agent_id"]
    body = {"conversation_config": {"agent": {"prompt": {"tools": [tool]}}}}
    agent = (await asgi_client.patch(f"/v1/convai/agents/{agent_id}", json=body)).json()
    assert openapi.validate("PATCH", f"/v1/convai/agents/{agent_id}", 200, agent)
    [stored] = agent["conversation_config"]["agent"]["prompt"]["tools"]
    assert "property_kind" not in stored["parameters"]
    assert "property_kind" not in stored["parameters"]["properties"]["items"]
    assert stored["parameters"]["properties"]["property_kind"]["type"] == "string"  # a name, kept
