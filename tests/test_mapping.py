"""API JSON ⇄ manifest models: both directions agree, and the documented mapping rules hold."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from provisioner.diff import agent_view, number_view, rule_view, trunk_view
from provisioner.manifest import Agent, SipTrunk, TransferRule, TwilioNumber, Webhook
from provisioner.mapping import (
    agent_from_api,
    agent_patch,
    describe_transfers,
    import_body,
    inbound_to_api,
    number_from_api,
    outbound_to_api,
    parse_description,
    transfer_tool_to_api,
    transfers_from_api,
    trunk_from_api,
    trunk_settings_patch,
    webhook_from_api,
    webhook_to_api,
)

ENV = {"PW": "pw-value", "TOKEN": "tok-value", "SID": "AC" + "1" * 32}


def resolve(value: str) -> str:
    for name, secret in ENV.items():
        value = value.replace("${" + name + "}", secret)
    return value


def rule(**kwargs: Any) -> TransferRule:
    return TransferRule.model_validate({"to": "+14155550199", "condition": "asks for a human", **kwargs})


def test_transfer_kinds_follow_the_mapping_rules() -> None:
    rules = [
        rule(to="{{manager_phone}}", wait_message="Hold on", sip_headers={"X-Id": "{{call_id}}", "X-Q": "vip"}),
        rule(to="sip:{{desk}}", type="sip_refer", post_dial_digits="{{ext}}"),
        rule(to="sip:queue@pbx.example.com", type="sip_refer", uui={"data": "AB", "protocol_discriminator": "04"}),
        rule(to="+14155550100", type="blind", post_dial_digits="ww123#", handoff_message='Say "hi"\nthen go'),
    ]
    tool = transfer_tool_to_api(rules)
    assert tool is not None
    transfers = tool["params"]["transfers"]
    assert transfers[0]["transfer_destination"] == {"type": "phone_dynamic_variable", "phone_number": "manager_phone"}
    assert transfers[0]["custom_sip_headers"] == [
        {"type": "dynamic", "value": "call_id", "key": "X-Id"},
        {"type": "static", "value": "vip", "key": "X-Q"},
    ]
    assert transfers[1]["transfer_destination"] == {"type": "sip_uri_dynamic_variable", "sip_uri": "desk"}
    assert transfers[1]["post_dial_digits"] == {"type": "dynamic", "value": "ext"}
    assert transfers[2]["transfer_destination"] == {"type": "sip_uri", "sip_uri": "sip:queue@pbx.example.com"}
    assert transfers[2]["uui"]["protocol_discriminator_mode"] == "prefix"
    assert transfers[3]["post_dial_digits"] == {"type": "static", "value": "ww123#"}
    assert tool["params"]["enable_client_message"] is True
    # One description for all rules; messages come back out of it.
    assert [rule_view(r) for r in transfers_from_api(tool)] == [rule_view(r) for r in rules]


def test_client_message_is_off_without_wait_messages_and_wait_reads_absent_when_off() -> None:
    tool = transfer_tool_to_api([rule(handoff_message="x")])
    assert tool is not None and tool["params"]["enable_client_message"] is False
    with_wait = transfer_tool_to_api([rule(wait_message="hold")])
    assert with_wait is not None
    with_wait["params"]["enable_client_message"] = False  # switched off in the dashboard
    assert transfers_from_api(with_wait)[0].wait_message is None
    assert transfer_tool_to_api([]) is None  # [] removes the tool


def test_an_edited_description_is_noticed() -> None:
    rules = [rule(wait_message="Please hold")]
    tool = transfer_tool_to_api(rules)
    assert tool is not None
    tool["description"] = "Transfer when needed."
    assert transfers_from_api(tool)[0].wait_message is None


text = st.text(st.characters(blacklist_categories=("Cs",)), min_size=1, max_size=40)


@pytest.mark.slow
@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(text, st.none() | text, st.none() | text), min_size=1, max_size=4))
def test_description_round_trips_any_text(items: list[tuple[str, str | None, str | None]]) -> None:
    rules = [rule(condition=c, wait_message=w, handoff_message=h) for c, w, h in items]
    parsed = parse_description(describe_transfers(rules))
    for index, (_, wait, handoff) in enumerate(items, start=1):
        assert parsed[index].get("wait_message") == wait
        assert parsed[index].get("handoff_message") == handoff


def test_twilio_import_body_and_caller_id_only() -> None:
    number = TwilioNumber.model_validate(
        {
            "number": "+14155550100",
            "label": "Out",
            "provider": "twilio",
            "twilio": {"account_sid": "${SID}", "auth_token": "${TOKEN}", "caller_id_only": True},
        }
    )
    body = import_body(number, None, None, resolve)
    assert body == {
        "phone_number": "+14155550100",
        "label": "Out",
        "agent_id": None,
        "provider": "twilio",
        "sid": ENV["SID"],
        "token": ENV["TOKEN"],
        "supports_inbound": False,
        "supports_outbound": True,
    }
    live = {
        "phone_number": "+14155550100",
        "label": "Out",
        "provider": "twilio",
        "supports_inbound": False,
        "phone_number_id": "phnum_1",
        "assigned_agent": None,
    }
    model, trunk = number_from_api(live, {})
    assert trunk is None
    assert number_view(model, None, None, manage_agent=True) == number_view(number, None, None, manage_agent=True)


def api_trunk(request: dict[str, Any] | None) -> dict[str, Any] | None:
    """What the API returns for a trunk config request: password gone, has_auth_credentials set."""
    if request is None:
        return None
    out = {k: v for k, v in request.items() if k != "credentials"}
    creds = request.get("credentials")
    out["has_auth_credentials"] = creds is not None
    out["username"] = creds["username"] if creds else None
    return out


def test_trunk_round_trip_and_static_ip() -> None:
    trunk = SipTrunk.model_validate(
        {
            "static_ip": True,
            "store_sip_messages": False,
            "outbound": {
                "address": "pbx.example.com",
                "transport": "tls",
                "codecs": ["PCMU/8000"],
                "credentials": {"username": "u", "password": "${PW}"},
            },
            "inbound": {"allowed_addresses": ["10.0.0.0/8"], "allowed_numbers": ["+14155550100"]},
        }
    )
    outbound = outbound_to_api(trunk.outbound, resolve, send_password=True)
    assert outbound["credentials"] == {"username": "u", "password": ENV["PW"]}
    assert outbound_to_api(trunk.outbound, resolve, send_password=False)["credentials"] == {"username": "u"}
    assert trunk_settings_patch(trunk) == {"livekit_stack": "static", "store_sip_messages": False}
    live = {
        "livekit_stack": "static",
        "store_sip_messages": False,
        "outbound_trunk": api_trunk(outbound),
        "inbound_trunk": api_trunk(inbound_to_api(trunk.inbound, resolve, send_password=True)),
    }
    assert trunk_view(trunk_from_api(live)) == trunk_view(trunk)


def test_webhook_headers_with_references_become_secret_ids() -> None:
    hook = Webhook.model_validate(
        {"url": "https://x.example", "headers": {"Authorization": "Bearer ${TOKEN}", "X-Plain": "p"}}
    )
    body = webhook_to_api(hook, {"telephony:workspace:Authorization": "sec_1"}, "workspace", resolve)
    assert body == {
        "url": "https://x.example",
        "request_headers": {"Authorization": {"secret_id": "sec_1"}, "X-Plain": "p"},
    }
    back = webhook_from_api(body, {"sec_1": "telephony:workspace:Authorization"})
    assert back is not None and back.headers["Authorization"] == "(secret telephony:workspace:Authorization)"
    assert "tok-value" not in repr(body)


def test_agent_patch_sends_only_declared_parts_and_merges_placeholders() -> None:
    declared = Agent.model_validate(
        {"id": "agent_1", "dynamic_variables": {"a": "1"}, "overrides": ["voice"], "pre_call_webhook": True}
    )
    live = {"conversation_config": {"agent": {"dynamic_variables": {"dynamic_variable_placeholders": {"keep": "x"}}}}}
    body = agent_patch(declared, {"dynamic_variables", "overrides", "pre_call_webhook"}, live, {}, resolve)
    assert body["conversation_config"] == {
        "agent": {"dynamic_variables": {"dynamic_variable_placeholders": {"keep": "x", "a": "1"}}}
    }
    overrides = body["platform_settings"]["overrides"]
    assert overrides["enable_conversation_initiation_client_data_from_webhook"] is True
    assert overrides["conversation_config_override"]["tts"]["voice_id"] is True
    assert overrides["conversation_config_override"]["agent"]["first_message"] is False
    assert body["platform_settings"]["workspace_overrides"] == {"conversation_initiation_client_data_webhook": None}
    assert "prompt" not in str(body["conversation_config"])  # never the prompt
    # Reading the result back gives the same view.
    stored = {"agent_id": "agent_1", **body}
    assert agent_view(agent_from_api(stored, declared, {}), declared) == agent_view(declared, declared)


def test_unmanaged_agent_keys_are_not_read() -> None:
    declared = Agent.model_validate({"id": "agent_1"})
    live = {"agent_id": "agent_1", "platform_settings": {"overrides": {"x": 1}}}
    assert agent_view(agent_from_api(live, declared, {}), declared) == {}
    assert agent_patch(declared, set(), live, {}, resolve) == {}


def test_a_placeholder_declared_null_is_sent_as_null_only_when_it_is_set() -> None:
    declared = Agent.model_validate({"id": "agent_1", "dynamic_variables": {"old": None, "never": None, "a": "1"}})
    placeholders = {"keep": "x", "old": "stale"}
    live = {"conversation_config": {"agent": {"dynamic_variables": {"dynamic_variable_placeholders": placeholders}}}}
    body = agent_patch(declared, {"dynamic_variables"}, live, {}, resolve)
    sent = body["conversation_config"]["agent"]["dynamic_variables"]["dynamic_variable_placeholders"]
    # The API deep-merges this map: null removes "old"; "never" (absent) is not sent at all.
    assert sent == {"keep": "x", "old": None, "a": "1"}
    have = agent_view(agent_from_api({"agent_id": "agent_1", **live}, declared, {}), declared)
    assert have == {"dynamic_variables": {"old": "stale"}}  # keys not set live are absent, not null
    assert agent_view(declared, declared) == {"dynamic_variables": {"a": "1"}}
