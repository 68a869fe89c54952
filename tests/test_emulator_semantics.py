"""Semantics switches: each reading of the API the emulator can play, the controls, the request log."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from provisioner.emulator import Semantics, SemanticsError, build_app
from provisioner.emulator.semantics import SWITCHES, parse
from provisioner.emulator.store import settings_patch_defaults
from provisioner.emulator.testing import API_KEY, inprocess_client, inprocess_controls, start_server

SPEC = json.loads((Path(__file__).parent / "data" / "elevenlabs-openapi.json").read_text())
DEFAULTS = {
    "agent_patch": "merge",
    "placeholder_null": "reject",
    "settings_patch": "partial",
    "new_sip_stack": "workspace",
    "list_has_more": "present",
    "codec_order": "kept",
}
PLACEHOLDER_LOC = ["body", "conversation_config", "agent", "dynamic_variables", "dynamic_variable_placeholders"]
SIP = {"provider": "sip_trunk", "phone_number": "+15550002222", "label": "pbx"}


def placeholders(values: dict[str, Any]) -> dict[str, Any]:
    return {"conversation_config": {"agent": {"dynamic_variables": {"dynamic_variable_placeholders": values}}}}


def stored_placeholders(agent: dict[str, Any]) -> dict[str, Any]:
    result: dict[str, Any] = agent["conversation_config"]["agent"]["dynamic_variables"]["dynamic_variable_placeholders"]
    return result


async def client_for(semantics: str | Semantics | None = None) -> httpx.AsyncClient:
    return inprocess_client(build_app(api_keys=[API_KEY], semantics=semantics))


@pytest.fixture
async def make_client() -> AsyncIterator[Any]:
    opened: list[httpx.AsyncClient] = []

    async def make(semantics: str | Semantics | None = None) -> httpx.AsyncClient:
        client = await client_for(semantics)
        opened.append(client)
        return client

    yield make
    for client in opened:
        await client.aclose()


async def new_agent(client: httpx.AsyncClient, body: dict[str, Any] | None = None) -> str:
    response = await client.post("/v1/convai/agents/create", json=body or {"conversation_config": {}})
    assert response.status_code == 200, response.text
    agent_id: str = response.json()["agent_id"]
    return agent_id


# ----- parse -------------------------------------------------------------------------------


def test_parse_defaults_and_values() -> None:
    assert parse("").as_dict() == DEFAULTS
    assert Semantics().as_dict() == DEFAULTS
    assert set(SWITCHES) == set(DEFAULTS)
    spec = "agent_patch=replace, placeholder_null=remove,settings_patch=defaults,new_sip_stack=standard,"
    spec += "list_has_more=omitted,codec_order=sorted"
    every = parse(spec)
    assert every.as_dict() == {name: values[1] for name, values in SWITCHES.items()}
    assert parse("codec_order=sorted").spec == "codec_order=sorted"
    with pytest.raises(AttributeError):
        every.agent_patch = "merge"  # type: ignore[misc]  # frozen


@pytest.mark.parametrize(
    ("spec", "words"),
    [
        ("agent_patch=patchy", ["'agent_patch'", "'patchy'", "merge, replace"]),
        ("nope=1", ["'nope'", "agent_patch", "codec_order"]),
        ("agent_patch", ["NAME=VALUE"]),
        ("=merge", ["NAME=VALUE"]),
        ("agent_patch=merge,agent_patch=replace", ["twice"]),
    ],
)
def test_parse_errors_name_the_problem(spec: str, words: list[str]) -> None:
    with pytest.raises(SemanticsError) as caught:
        parse(spec)
    for word in words:
        assert word in str(caught.value)


def test_build_app_accepts_a_semantics_or_a_spec() -> None:
    assert build_app(semantics=Semantics(codec_order="sorted")).state.store.semantics.codec_order == "sorted"
    assert build_app(semantics="list_has_more=omitted").state.store.semantics.list_has_more == "omitted"
    with pytest.raises(SemanticsError):
        build_app(semantics="list_has_more=maybe")
    with pytest.raises(SemanticsError):
        Semantics(agent_patch="maybe")


# ----- agent_patch -------------------------------------------------------------------------


@pytest.mark.anyio
async def test_agent_patch_merge_keeps_siblings(make_client: Any) -> None:
    client = await make_client()
    agent_id = await new_agent(client, {"conversation_config": {"agent": {"first_message": "Hi", "language": "fr"}}})
    body = {"conversation_config": {"agent": {"first_message": "Hello"}, "asr": {"keywords": ["a"]}}}
    agent = (await client.patch(f"/v1/convai/agents/{agent_id}", json=body)).json()
    assert agent["conversation_config"]["agent"]["first_message"] == "Hello"
    assert agent["conversation_config"]["agent"]["language"] == "fr"  # merged: kept
    await client.patch(f"/v1/convai/agents/{agent_id}", json={"conversation_config": {"asr": {"keywords": ["b"]}}})
    agent = (await client.get(f"/v1/convai/agents/{agent_id}")).json()
    assert agent["conversation_config"]["asr"]["keywords"] == ["b"]  # lists replaced


@pytest.mark.anyio
async def test_agent_patch_replace_replaces_each_section_sent(make_client: Any) -> None:
    client = await make_client("agent_patch=replace")
    create = {
        "conversation_config": {"agent": {"first_message": "Hi", "language": "fr"}, "asr": {"keywords": ["a", "b"]}},
        "platform_settings": {"call_limits": {"daily_limit": 5}},
    }
    agent_id = await new_agent(client, create)
    fresh = (await client.get(f"/v1/convai/agents/{agent_id}")).json()
    assert fresh["conversation_config"]["agent"]["language"] == "fr"
    body = {"conversation_config": {"agent": {"first_message": "Hello"}}, "name": "renamed"}
    agent = (await client.patch(f"/v1/convai/agents/{agent_id}", json=body)).json()
    config = agent["conversation_config"]
    assert config["agent"]["first_message"] == "Hello"
    assert config["agent"]["language"] == "en"  # the section was replaced: back to the API's default
    assert config["asr"]["keywords"] == []
    assert config["tts"] == fresh["conversation_config"]["tts"]  # defaults materialised whole
    assert agent["platform_settings"]["call_limits"]["daily_limit"] == 5  # not sent: untouched
    assert agent["name"] == "renamed"
    agent = (await client.patch(f"/v1/convai/agents/{agent_id}", json={"platform_settings": {}})).json()
    assert agent["platform_settings"]["call_limits"]["daily_limit"] == 100000
    assert agent["conversation_config"]["agent"]["first_message"] == "Hello"


# ----- placeholder_null --------------------------------------------------------------------


@pytest.mark.anyio
async def test_placeholder_null_reject_is_a_422_on_create_and_patch(make_client: Any) -> None:
    client = await make_client()
    response = await client.post("/v1/convai/agents/create", json=placeholders({"a": "x", "gone": None}))
    assert response.status_code == 422
    [error] = response.json()["detail"]
    assert error["loc"] == [*PLACEHOLDER_LOC, "gone"]
    assert error["input"] is None and error["type"] and error["msg"]
    agent_id = await new_agent(client, placeholders({"a": "x", "b": 1}))
    response = await client.patch(f"/v1/convai/agents/{agent_id}", json=placeholders({"a": None, "b": None}))
    assert response.status_code == 422
    assert [e["loc"][-1] for e in response.json()["detail"]] == ["a", "b"]
    agent = (await client.get(f"/v1/convai/agents/{agent_id}")).json()
    assert stored_placeholders(agent) == {"a": "x", "b": 1}  # nothing stored


@pytest.mark.anyio
@pytest.mark.parametrize("agent_patch", ["merge", "replace"])
async def test_placeholder_null_remove_deletes_the_key(make_client: Any, agent_patch: str) -> None:
    client = await make_client(f"placeholder_null=remove,agent_patch={agent_patch}")
    agent_id = await new_agent(client, placeholders({"a": "x", "b": 2, "never": None}))
    agent = (await client.get(f"/v1/convai/agents/{agent_id}")).json()
    assert stored_placeholders(agent) == {"a": "x", "b": 2}
    response = await client.patch(f"/v1/convai/agents/{agent_id}", json=placeholders({"a": None, "c": True}))
    assert response.status_code == 200, response.text
    expected = {"b": 2, "c": True} if agent_patch == "merge" else {"c": True}
    assert stored_placeholders(response.json()) == expected


# ----- settings_patch ----------------------------------------------------------------------


def test_settings_defaults_are_the_spec_defaults() -> None:
    schemas = SPEC["components"]["schemas"]
    request = schemas["PatchConvAISettingsRequest"]["properties"]
    defaults = settings_patch_defaults()
    assert set(defaults) == set(request)
    for key, prop in request.items():
        if key == "webhooks":
            continue
        if "default" in prop:
            assert defaults[key] == prop["default"], key
        else:  # no default: nullable, so null
            assert {"type": "null"} in prop["anyOf"] and defaults[key] is None, key
    webhooks = schemas["ConvAIWebhooks"]["properties"]
    assert defaults["webhooks"]["transcript_format"] == webhooks["transcript_format"]["default"]
    assert defaults["webhooks"] == {"post_call_webhook_id": None, "events": [], "transcript_format": "json"}


@pytest.mark.anyio
async def test_settings_patch_partial_keeps_and_defaults_resets(make_client: Any) -> None:
    changed = {
        "can_use_mcp_servers": True,
        "rag_retention_period_days": 20,
        "default_livekit_stack": "static",
        "conversation_embedding_retention_days": 100,
        "webhooks": {"events": ["transcript"]},
    }
    partial = await make_client()
    await partial.patch("/v1/convai/settings", json=changed)
    settings = (await partial.patch("/v1/convai/settings", json={"rag_retention_period_days": 5})).json()
    assert settings["can_use_mcp_servers"] is True and settings["default_livekit_stack"] == "static"
    assert settings["rag_retention_period_days"] == 5 and settings["webhooks"]["events"] == ["transcript"]
    resetting = await make_client("settings_patch=defaults")
    await resetting.patch("/v1/convai/settings", json=changed)
    settings = (await resetting.patch("/v1/convai/settings", json={"rag_retention_period_days": 5})).json()
    assert settings == {**settings_patch_defaults(), "rag_retention_period_days": 5}


# ----- new_sip_stack, codec_order, list_has_more -------------------------------------------


@pytest.mark.anyio
@pytest.mark.parametrize(("value", "expected"), [("workspace", "static"), ("standard", "standard")])
async def test_new_sip_stack(make_client: Any, value: str, expected: str) -> None:
    client = await make_client(f"new_sip_stack={value}")
    await client.patch("/v1/convai/settings", json={"default_livekit_stack": "static"})
    pid = (await client.post("/v1/convai/phone-numbers", json=SIP)).json()["phone_number_id"]
    assert (await client.get(f"/v1/convai/phone-numbers/{pid}")).json()["livekit_stack"] == expected


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("value", "expected"),
    [("kept", ["PCMU/8000", "G722/8000", "PCMA/8000"]), ("sorted", ["G722/8000", "PCMA/8000", "PCMU/8000"])],
)
async def test_codec_order(make_client: Any, value: str, expected: list[str]) -> None:
    client = await make_client(f"codec_order={value}")
    trunk = {"address": "sip.example.test", "enabled_codecs": ["PCMU/8000", "G722/8000", "PCMA/8000"]}
    pid = (await client.post("/v1/convai/phone-numbers", json={**SIP, "outbound_trunk_config": trunk})).json()[
        "phone_number_id"
    ]
    number = (await client.get(f"/v1/convai/phone-numbers/{pid}")).json()
    assert number["outbound_trunk"]["enabled_codecs"] == expected
    assert number["provider_config"]["enabled_codecs"] == expected
    patched = (await client.patch(f"/v1/convai/phone-numbers/{pid}", json={"outbound_trunk_config": trunk})).json()
    assert patched["outbound_trunk"]["enabled_codecs"] == expected
    assert (await client.get("/v1/convai/phone-numbers")).json()[0]["outbound_trunk"]["enabled_codecs"] == expected


@pytest.mark.anyio
@pytest.mark.parametrize("value", ["present", "omitted"])
async def test_list_has_more(make_client: Any, value: str) -> None:
    client = await make_client(f"list_has_more={value}")
    for i in range(3):
        await client.post("/v1/convai/phone-numbers", json={**SIP, "phone_number": f"+1555000000{i}"})
    first = (await client.get("/v1/convai/v2/phone-numbers", params={"page_size": 2})).json()
    assert first["next_cursor"] is not None and len(first["phone_numbers"]) == 2
    last = (await client.get("/v1/convai/v2/phone-numbers", params={"cursor": first["next_cursor"]})).json()
    assert last["next_cursor"] is None and len(last["phone_numbers"]) == 1
    if value == "present":
        assert (first["has_more"], last["has_more"]) == (True, False)
    else:
        assert "has_more" not in first and "has_more" not in last


# ----- the control routes ------------------------------------------------------------------


@pytest.mark.anyio
async def test_get_put_and_reset_semantics() -> None:
    app = build_app(api_keys=[API_KEY], semantics="codec_order=sorted")
    controls = inprocess_controls(app)
    assert await controls.semantics() == {**DEFAULTS, "codec_order": "sorted"}
    changed = await controls.set_semantics(list_has_more="omitted", agent_patch="replace")
    assert changed == {**DEFAULTS, "codec_order": "sorted", "list_has_more": "omitted", "agent_patch": "replace"}
    assert await controls.semantics() == changed
    for body, words in (
        ({"nope": "x"}, ["nope", "agent_patch"]),
        ({"agent_patch": "maybe"}, ["agent_patch", "maybe", "merge, replace"]),
        ({"agent_patch": 1}, ["agent_patch", "string"]),
    ):
        response = await controls.http.put("/_emulator/semantics", json=body)
        assert response.status_code == 400
        message = response.json()["detail"]["message"]
        assert all(word in message for word in words), message
    assert (await controls.http.put("/_emulator/semantics", json=["x"])).status_code == 422
    assert await controls.semantics() == changed  # a refused PUT changes nothing
    assert (await controls.state())["semantics"] == changed
    await controls.reset()
    assert await controls.semantics() == {**DEFAULTS, "codec_order": "sorted"}


@pytest.mark.anyio
async def test_a_switch_applies_to_the_next_request(make_client: Any) -> None:
    client = await make_client()
    trunk = {"address": "sip.example.test", "enabled_codecs": ["PCMU/8000", "G722/8000"]}
    pid = (await client.post("/v1/convai/phone-numbers", json={**SIP, "outbound_trunk_config": trunk})).json()[
        "phone_number_id"
    ]
    assert (await client.get(f"/v1/convai/phone-numbers/{pid}")).json()["outbound_trunk"]["enabled_codecs"] == [
        "PCMU/8000",
        "G722/8000",
    ]
    await client.put("/_emulator/semantics", json={"codec_order": "sorted"})  # rendered numbers are re-rendered
    assert (await client.get(f"/v1/convai/phone-numbers/{pid}")).json()["outbound_trunk"]["enabled_codecs"] == [
        "G722/8000",
        "PCMU/8000",
    ]


@pytest.mark.anyio
async def test_request_log_redacts_secrets_and_clears(emulator_app: FastAPI, asgi_client: httpx.AsyncClient) -> None:
    client = asgi_client
    twilio: dict[str, Any] = {
        "provider": "twilio",
        "phone_number": "+15550001111",
        "label": "t",
        "sid": "AC1",
        "token": "tok-1",
    }
    twilio["region_config"] = {"region_id": "us1", "token": "region-tok", "edge_location": "ashburn"}
    sip = {
        **SIP,
        "outbound_trunk_config": {
            "address": "a.test",
            "credentials": {"username": "u", "password": "pw-1"},
            "headers": {"X-A": "b"},
        },
        "inbound_trunk_config": {"credentials": {"username": "u", "password": None}},
    }
    await client.post("/v1/convai/phone-numbers", json=twilio)
    await client.post("/v1/convai/phone-numbers", json=sip)
    await client.post("/v1/convai/secrets", json={"type": "new", "name": "s", "value": "secret-value"})
    await client.get("/v1/convai/v2/phone-numbers", params={"page_size": 1})
    await client.post("/v1/convai/agents/create", content=b"not json", headers={"content-type": "text/plain"})
    await client.get("/_emulator/stats")  # control routes are not logged
    log = (await client.get("/_emulator/requests")).json()
    assert [(r["method"], r["path"]) for r in log] == [
        ("POST", "/v1/convai/phone-numbers"),
        ("POST", "/v1/convai/phone-numbers"),
        ("POST", "/v1/convai/secrets"),
        ("GET", "/v1/convai/v2/phone-numbers"),
        ("POST", "/v1/convai/agents/create"),
    ]
    text = json.dumps(log)
    for secret in ("AC1", "tok-1", "region-tok", "pw-1", "secret-value"):
        assert secret not in text
    assert log[0]["body"]["sid"] == log[0]["body"]["token"] == "<redacted>"
    assert log[0]["body"]["region_config"] == {"region_id": "us1", "token": "<redacted>", "edge_location": "ashburn"}
    assert log[1]["body"]["outbound_trunk_config"]["credentials"] == {"username": "u", "password": "<redacted>"}
    assert log[1]["body"]["outbound_trunk_config"]["headers"] == {"X-A": "b"}
    assert log[1]["body"]["inbound_trunk_config"]["credentials"]["password"] is None  # a null holds no secret
    assert log[2]["body"] == {"type": "new", "name": "s", "value": "<redacted>"}
    assert log[3]["body"] is None and log[3]["query"] == "page_size=1"
    assert log[4]["body"] is None  # not JSON
    controls = inprocess_controls(emulator_app)
    assert len(await controls.requests()) == 5
    await controls.clear_requests()
    assert await controls.requests() == []
    await client.get("/v1/convai/settings")
    assert len(await controls.requests()) == 1
    await controls.reset()
    assert await controls.requests() == []


@pytest.mark.anyio
async def test_request_log_is_bounded() -> None:
    app = build_app(api_keys=[API_KEY])
    app.state.emulator.requests = app.state.emulator.requests.__class__(maxlen=3)
    async with inprocess_client(app) as client:
        for i in range(5):
            await client.patch("/v1/convai/settings", json={"rag_retention_period_days": i + 1})
        log = (await client.get("/_emulator/requests")).json()
    assert [r["body"]["rag_retention_period_days"] for r in log] == [3, 4, 5]
    from provisioner.emulator.control import REQUEST_LOG_LIMIT

    assert build_app().state.emulator.requests.maxlen == REQUEST_LOG_LIMIT == 5000


# ----- the real server ---------------------------------------------------------------------


@pytest.mark.e2e
def test_serve_with_semantics() -> None:
    with start_server("--semantics", "list_has_more=omitted,placeholder_null=remove") as server:
        assert server.semantics() == {**DEFAULTS, "list_has_more": "omitted", "placeholder_null": "remove"}
        with server.client() as http:
            assert "has_more" not in http.get("/v1/convai/v2/phone-numbers").json()
            response = http.post("/v1/convai/agents/create", json=placeholders({"a": None, "b": "x"}))
            assert response.status_code == 200
        server.set_semantics(placeholder_null="reject", list_has_more="present")
        with server.client() as http:
            assert http.get("/v1/convai/v2/phone-numbers").json()["has_more"] is False
            assert http.post("/v1/convai/agents/create", json=placeholders({"a": None})).status_code == 422
        [*_, last] = server.requests()
        assert last == {
            "method": "POST",
            "path": "/v1/convai/agents/create",
            "query": "",
            "body": placeholders({"a": None}),
        }
        server.reset()
        assert server.semantics()["list_has_more"] == "omitted"
        assert server.requests() == []


@pytest.mark.e2e
def test_serve_refuses_a_bad_semantics_spec() -> None:
    from tests.helpers import run_cli

    result = run_cli("emulator", "serve", "--port", "0", "--semantics", "codec_order=random", timeout=30)
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: "), result.stderr
    assert "codec_order" in lines[0] and "kept, sorted" in lines[0] and "Traceback" not in result.stderr
