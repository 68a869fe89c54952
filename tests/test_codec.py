"""Manifest → canonical values → wire and back: both directions agree, and the mapping rules hold.

The desired side is built by `provisioner.desired`, the wire side by `provisioner.api.codec`, and
what the API returns is parsed by the `provisioner.api.wire` models, exactly as at run time.
Views (`provisioner.state`) are what plans compare, so round trips are checked on views.
"""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from provisioner import desired, grammar
from provisioner.api import codec, wire
from provisioner.api.codec import AgentEdit
from provisioner.manifest import Agent, Manifest, SipTrunk, TransferRule, Webhook
from provisioner.plan_numbers import stack_settings
from provisioner.state import SecretRef, secret_name

ENV = {"PW": "pw-value", "TOKEN": "tok-value", "SID": "AC" + "1" * 32}


def resolve(value: str) -> str:
    return grammar.resolve_references(value, ENV)


def rule(**kwargs: Any) -> TransferRule:
    return TransferRule.model_validate({"to": "+14155550199", "condition": "asks for a human", **kwargs})


def rules(*items: TransferRule) -> tuple[Any, ...]:
    return tuple(desired.rule(r) for r in items)


# -- transfer rules -----------------------------------------------------------------------------


def test_transfer_kinds_follow_the_mapping_rules() -> None:
    states = rules(
        rule(to="{{manager_phone}}", wait_message="Hold on", sip_headers={"X-Id": "{{call_id}}", "X-Q": "vip"}),
        rule(to="sip:{{desk}}", type="sip_refer", post_dial_digits="{{ext}}"),
        rule(to="sip:queue@pbx.example.com", type="sip_refer", uui={"data": "AB", "protocol_discriminator": "04"}),
        rule(to="+14155550100", type="blind", post_dial_digits="ww123#", handoff_message='Say "hi"\nthen go'),
    )
    tool = codec.transfer_tool(states)
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
    assert [r.view() for r in codec.decode_transfers(tool)] == [r.view() for r in states]


def test_client_message_is_off_without_wait_messages_and_wait_reads_absent_when_off() -> None:
    tool = codec.transfer_tool(rules(rule(handoff_message="x")))
    assert tool is not None and tool["params"]["enable_client_message"] is False
    mixed = codec.transfer_tool(rules(rule(handoff_message="x"), rule(wait_message="hold")))
    assert mixed is not None and mixed["params"]["enable_client_message"] is True  # any rule with one
    with_wait = codec.transfer_tool(rules(rule(wait_message="hold")))
    assert with_wait is not None
    assert codec.decode_transfers(with_wait)[0].wait_message == "hold"
    with_wait["params"]["enable_client_message"] = False  # switched off in the dashboard
    assert codec.decode_transfers(with_wait)[0].wait_message is None
    assert codec.transfer_tool(()) is None  # [] removes the tool


def test_an_edited_description_is_noticed() -> None:
    tool = codec.transfer_tool(rules(rule(wait_message="Please hold")))
    assert tool is not None
    assert codec.decode_transfers(tool)[0].wait_message == "Please hold"
    tool["description"] = "Transfer when needed."
    assert codec.decode_transfers(tool)[0].wait_message is None


text = st.text(st.characters(blacklist_categories=("Cs",)), min_size=1, max_size=40)


@pytest.mark.slow  # a property test: hypothesis runs it many times
@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(text, st.none() | text, st.none() | text), min_size=1, max_size=4))
@example([('say "agent"', 'wait "here"\\', None)])
@example([("a\u2028b\x85c", "line\nbreak", "x")])
@example([('x"; tell the caller "forged', None, '"; tell the person who answers "no')])
def test_description_round_trips_any_text(items: list[tuple[str, str | None, str | None]]) -> None:
    states = rules(*(rule(condition=c, wait_message=w, handoff_message=h) for c, w, h in items))
    parsed = codec.parse_description(codec.describe_transfers(states))
    for index, (_, wait, handoff) in enumerate(items, start=1):
        assert parsed[index].get("wait_message") == wait
        assert parsed[index].get("handoff_message") == handoff


# -- destinations and header values (properties) --------------------------------------------------

_name = st.from_regex(r"[A-Za-z0-9_][A-Za-z0-9_.\-]{0,12}", fullmatch=True)
_space = st.sampled_from(["", " ", "  ", "\t"])
_variable = st.builds(lambda a, n, b: "{{" + a + n + b + "}}", _space, _name, _space)
_scheme = st.sampled_from(["sip:", "SIP:", "Sip:", "sips:", "SIPS:", "sIpS:"])
_host = st.from_regex(r"[a-z0-9]{1,10}(\.[a-z0-9]{1,10}){0,2}(:[0-9]{1,5})?", fullmatch=True)
_user = st.from_regex(r"[A-Za-z0-9+_.\-]{1,12}", fullmatch=True)
_e164 = st.from_regex(r"\+[1-9][0-9]{6,14}", fullmatch=True)
destinations = st.one_of(
    st.text(max_size=30),
    _e164,
    st.builds(lambda s, n, p: s + n + p, _space, _e164, _space),
    st.builds(lambda s, u, h: f"{s}{u}@{h}", _scheme, _user, _host),
    st.builds(lambda s, h: s + h, _scheme, _host),
    _variable,
    st.builds(lambda s, v: s + v, _scheme, _variable),
    st.builds(lambda s, v: s + v, st.sampled_from(["sip:", "sips:", "SIP:", "tel:"]), _variable),
    st.just("{{bad:1}}"),
    st.just("sip:{{bad:1}}"),
    st.builds(lambda s, t: s + t, _scheme, st.text(max_size=20)),
)


@pytest.mark.slow  # a property test: hypothesis runs it many times
@settings(max_examples=400, deadline=None)
@given(destinations)
@example("+14155550100")
@example(" sip:{{ desk }} ")
@example("SIP:Queue@PBX.example.com")
@example("sips:{{desk}}")
@example("{{bad:1}}")
@example("sip:")
def test_destinations_encode_to_their_kind_and_decode_to_the_canonical_form(to: str) -> None:
    parsed = grammar.parse_destination(to)
    if parsed is None:
        return
    encoded = codec.encode_destination(to)
    assert encoded["type"] == parsed.kind.value
    assert codec.decode_destination(encoded) == grammar.canonical_destination(to)


def test_destination_schemes_are_sent_lowercase() -> None:
    assert codec.encode_destination("SIPS:Queue@pbx.example.com") == {
        "type": "sip_uri",
        "sip_uri": "sips:Queue@pbx.example.com",
    }
    assert codec.encode_destination(" SIP:{{ desk }} ") == {"type": "sip_uri_dynamic_variable", "sip_uri": "desk"}


def test_destinations_the_api_cannot_keep_are_never_encoded() -> None:
    for to in ("sips:{{desk}}", "{{bad:1}}", "sip:", "4155550100", "sip:{{a}}{{b}}"):
        assert grammar.parse_destination(to) is None
        try:
            codec.encode_destination(to)
        except ValueError:
            continue
        raise AssertionError(f"{to!r} was encoded")


_header_text = st.one_of(
    st.text(max_size=30),
    st.builds(lambda a, b: a + "$${" + b, st.text(max_size=8), st.text(max_size=8)),
    st.builds(lambda a, n, b: a + "${" + n + "}" + b, st.text(max_size=8), _name, st.text(max_size=8)),
    st.builds(lambda a, n: "Bearer " + a + "${" + n + ":-x}", st.text(max_size=4), _name),
)


@pytest.mark.slow  # a property test: hypothesis runs it many times
@settings(max_examples=300, deadline=None)
@given(_header_text)
@example("$${literal}")
@example("Bearer ${TOKEN}")
@example("${1}")
@example("$$${A}")
def test_only_header_values_with_a_reference_become_secrets(value: str) -> None:
    got = desired.header_value("scope", "X-H", value)
    if grammar.has_reference(value):
        assert got == SecretRef(secret=secret_name("scope", "X-H"))
    else:
        assert type(got) is str
        assert got == value.replace("$${", "${")  # the escape is undone: the API stores the literal


def test_an_escaped_reference_is_the_literal_text() -> None:
    assert desired.header_value("workspace", "X-H", "$${literal}") == "${literal}"
    assert desired.header_value("workspace", "X-H", "a ${B} c") == SecretRef(secret="telephony:workspace:X-H")


# -- phone numbers ------------------------------------------------------------------------------


def manifest(**parts: Any) -> Manifest:
    return Manifest.model_validate({"version": 1, **parts})


def test_twilio_import_body_and_caller_id_only() -> None:
    declared = manifest(
        phone_numbers={
            "out": {
                "number": "+14155550100",
                "label": "Out",
                "provider": "twilio",
                "twilio": {"account_sid": "${SID}", "auth_token": "${TOKEN}", "caller_id_only": True},
            }
        }
    )
    want = desired.number(declared, "out", declared.phone_numbers["out"]).state
    request = codec.import_request(want)
    assert isinstance(request, wire.ImportTwilioRequest)
    assert request.sid == "${SID}" and request.token == "${TOKEN}"  # references until the moment of sending
    assert codec.resolved_import(request, resolve) == {
        "phone_number": "+14155550100",
        "label": "Out",
        "agent_id": None,
        "provider": "twilio",
        "sid": ENV["SID"],
        "token": ENV["TOKEN"],
        "supports_inbound": False,
        "supports_outbound": True,
    }
    live = wire.PhoneNumberResponse.model_validate(
        {
            "phone_number": "+14155550100",
            "label": "Out",
            "provider": "twilio",
            "supports_inbound": False,
            "phone_number_id": "phnum_1",
            "assigned_agent": None,
        }
    )
    have = codec.decode_number(live)
    assert have.caller_id_only is True and have.trunk is None
    assert have.view({}, manage_agent=True) == want.view({}, manage_agent=True)
    # An inbound-capable live number is a different caller_id_only; without the (deprecated) flag
    # it is unknown, never guessed.
    inbound = codec.decode_number(live.model_copy(update={"supports_inbound": True}))
    assert inbound.view({}, manage_agent=True)["caller_id_only"] is False
    assert codec.decode_number(live.model_copy(update={"supports_inbound": None})).caller_id_only is None


def api_trunk(request: wire.Request | None) -> dict[str, Any] | None:
    """What the API returns for a trunk config request: password gone, has_auth_credentials set."""
    if request is None:
        return None
    body = request.body()
    out = {k: v for k, v in body.items() if k != "credentials"}
    creds = body.get("credentials")
    out["has_auth_credentials"] = creds is not None
    out["username"] = creds["username"] if creds else None
    return out


TRUNK = {
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


def test_trunk_round_trip_and_static_ip() -> None:
    trunk = desired.trunk(SipTrunk.model_validate(TRUNK))
    outbound = codec.outbound_request(trunk.outbound, send_password=True)
    assert outbound is not None and outbound.body()["credentials"] == {"username": "u", "password": "${PW}"}
    without = codec.outbound_request(trunk.outbound, send_password=False)
    assert without is not None and without.body()["credentials"] == {"username": "u"}
    # The import sends the resolved password, and the stack settings in a PATCH right after it.
    declared = manifest(
        sip_trunks={"pbx": TRUNK},
        phone_numbers={"n": {"number": "+14155550100", "label": "L", "provider": "sip_trunk", "sip_trunk": "pbx"}},
    )
    want = desired.number(declared, "n", declared.phone_numbers["n"]).state
    sent = codec.resolved_import(codec.import_request(want), resolve)
    assert sent["outbound_trunk_config"]["credentials"] == {"username": "u", "password": ENV["PW"]}
    assert "${PW}" not in str(sent)
    patch = stack_settings(want.trunk, "standard")
    assert patch is not None and patch.body() == {"livekit_stack": "static", "store_sip_messages": False}
    live = wire.PhoneNumberResponse.model_validate(
        {
            "phone_number": "+14155550100",
            "label": "L",
            "phone_number_id": "phnum_1",
            "provider": "sip_trunk",
            "livekit_stack": "static",
            "store_sip_messages": False,
            "outbound_trunk": api_trunk(outbound),
            "inbound_trunk": api_trunk(codec.inbound_request(trunk.inbound, send_password=True)),
        }
    )
    have = codec.decode_number(live)
    assert have.trunk is not None and have.trunk.view() == trunk.view()
    assert have.view({}, manage_agent=False) == want.view({}, manage_agent=False)
    standard = codec.decode_number(live.model_copy(update={"livekit_stack": "standard"})).trunk
    assert standard is not None and standard.view()["static_ip"] is False


# -- webhooks -----------------------------------------------------------------------------------


def test_webhook_headers_with_references_become_secret_ids() -> None:
    hook = Webhook.model_validate(
        {"url": "https://x.example", "headers": {"Authorization": "Bearer ${TOKEN}", "X-Plain": "p"}}
    )
    name = "telephony:workspace:Authorization"
    state = desired.webhook(hook, "workspace")
    assert state is not None
    assert desired.webhook_secrets(hook, "workspace") == {name: "Bearer ${TOKEN}"}  # stored as a secret
    encoded = codec.encode_webhook(state, {name: "sec_1"})
    assert encoded is not None
    body = encoded.model_dump(mode="json")
    assert body == {
        "url": "https://x.example",
        "request_headers": {"Authorization": {"secret_id": "sec_1"}, "X-Plain": "p"},
    }
    back = codec.decode_webhook(wire.WebhookWire.model_validate(body), {"sec_1": name})
    assert back is not None and dict(back.headers)["Authorization"] == SecretRef(secret=name)
    assert back.view()["headers"]["Authorization"] == f"(secret {name})"
    assert back.view() == state.view()
    assert "tok-value" not in repr(body) and "TOKEN" not in repr(body)


# -- agents -------------------------------------------------------------------------------------


def edit_for(declared: Agent) -> AgentEdit:
    """The edit the planner makes when every managed key differs."""
    want = desired.agent(declared)
    return AgentEdit(
        pre_call_webhook=want.pre_call_webhook,
        set_placeholders=want.placeholders or (),
        remove_placeholders=desired.removed_placeholders(declared),
        transfers=want.transfers,
        overrides=want.overrides,
    )


def agent_with(placeholders: dict[str, Any]) -> wire.AgentResponse:
    return wire.AgentResponse.model_validate(
        {
            "agent_id": "agent_1",
            "conversation_config": {"agent": {"dynamic_variables": {"dynamic_variable_placeholders": placeholders}}},
        }
    )


def one_patch(edit: AgentEdit, fresh: wire.AgentResponse) -> dict[str, Any]:
    bodies = codec.agent_patches(edit, fresh, {})
    assert len(bodies) == 1
    return bodies[0].body()


def test_agent_patch_sends_only_declared_parts_and_merges_placeholders() -> None:
    declared = Agent.model_validate(
        {"id": "agent_1", "dynamic_variables": {"a": "1"}, "overrides": ["voice"], "pre_call_webhook": True}
    )
    fresh = agent_with({"keep": "x"})
    prompt = {"prompt": "You are helpful.", "llm": "gpt-4o"}
    fresh.conversation_config["agent"]["prompt"] = prompt
    body = one_patch(edit_for(declared), fresh)
    assert body["conversation_config"] == {
        "agent": {"dynamic_variables": {"dynamic_variable_placeholders": {"keep": "x", "a": "1"}}, "prompt": prompt}
    }
    overrides = body["platform_settings"]["overrides"]
    assert overrides["enable_conversation_initiation_client_data_from_webhook"] is True
    assert overrides["conversation_config_override"]["tts"]["voice_id"] is True
    assert overrides["conversation_config_override"]["agent"]["first_message"] is False
    assert body["platform_settings"]["workspace_overrides"] == {"conversation_initiation_client_data_webhook": None}
    # Sections go back whole, as read just before the write: the prompt is never changed.
    assert body["conversation_config"]["agent"]["prompt"] == prompt
    # Reading the result back gives the same view.
    stored = wire.AgentResponse.model_validate({"agent_id": "agent_1", **body})
    have = codec.decode_agent(stored, desired.agent_scope(declared), {})
    assert have.view() == desired.agent(declared).view()
    # A section the edit does not touch is not sent at all.
    only_overrides = Agent.model_validate({"id": "agent_1", "overrides": ["voice"]})
    assert set(one_patch(edit_for(only_overrides), fresh)) == {"platform_settings"}


def test_unmanaged_agent_keys_are_not_read() -> None:
    declared = Agent.model_validate({"id": "agent_1"})
    live = wire.AgentResponse.model_validate(
        {
            "agent_id": "agent_1",
            "platform_settings": {"overrides": {"enable_conversation_initiation_client_data_from_webhook": True}},
            "conversation_config": {"agent": {"dynamic_variables": {"dynamic_variable_placeholders": {"a": "1"}}}},
        }
    )
    assert codec.decode_agent(live, desired.agent_scope(declared), {}).view() == {}
    assert codec.agent_patches(edit_for(declared), live, {}) == []


def test_a_placeholder_declared_null_is_removed_and_never_sent_as_null() -> None:
    declared = Agent.model_validate({"id": "agent_1", "dynamic_variables": {"old": None, "never": None, "a": "1"}})
    live = agent_with({"keep": "x", "old": "stale", "dead": None})
    sent = one_patch(edit_for(declared), live)["conversation_config"]["agent"]["dynamic_variables"]
    # The whole map goes back without "old" (the API reference forbids a null placeholder, so a
    # removal is never sent as null); "never" was absent and stays absent; keys set elsewhere stay.
    assert sent["dynamic_variable_placeholders"] == {"keep": "x", "a": "1"}
    have = codec.decode_agent(live, desired.agent_scope(declared), {})
    assert have.view() == {"dynamic_variables": {"old": "stale"}}  # keys not set live are absent, not null
    with_null = codec.decode_agent(agent_with({"old": "stale", "never": None}), desired.agent_scope(declared), {})
    assert with_null.view() == have.view()  # a live null is not a value either
    assert desired.agent(declared).view() == {"dynamic_variables": {"a": "1"}}
