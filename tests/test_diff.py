"""Normalisation and field diffs: equal meaning compares equal, so an applied manifest plans nothing.

Views come from the canonical values (`provisioner.state`); `provisioner.diff` only compares them.
"""

from __future__ import annotations

from provisioner import desired
from provisioner.changes import FieldChange
from provisioner.diff import diff_views
from provisioner.manifest import InboundTrunk, OutboundTrunk, TransferRule
from provisioner.state import CredentialsState, InboundState, NumberState, OutboundState, RuleState, TrunkState


def number(text: str, **kwargs: object) -> NumberState:
    return NumberState(number=text, label="L", provider="twilio", **kwargs)  # type: ignore[arg-type]


def test_e164_normalisation() -> None:
    for written, canonical in [
        ("+1 (415) 555-0100", "+14155550100"),
        ("0044 20 7946 0000", "+442079460000"),
        ("+14155550100", "+14155550100"),
    ]:
        assert number(written).key == canonical
        assert number(written).view({}, manage_agent=False)["number"] == canonical
    assert (
        diff_views(
            number("+1 415.555.0100").view({}, manage_agent=False), number("+14155550100").view({}, manage_agent=False)
        )
        == []
    )


def test_order_case_and_empty_values_do_not_make_a_diff() -> None:
    a = desired.outbound(
        OutboundTrunk.model_validate(
            {"address": "PBX.Example.com", "transport": "tls", "codecs": ["PCMU/8000", "PCMA/8000"]}
        )
    )
    b = OutboundState(address="pbx.example.com ", transport="TLS", codecs=("pcmu/8000", "PCMA/8000", "PCMU/8000"))
    assert a is not None and a.view() == b.view()
    # Codec order is the offer's preference order: a reorder is a change.
    assert OutboundState(address="pbx.example.com", codecs=("PCMA/8000", "PCMU/8000")).view() != a.view()
    c = desired.inbound(
        InboundTrunk.model_validate({"allowed_addresses": ["10.0.0.2", "10.0.0.1"], "allowed_numbers": []})
    )
    d = InboundState(allowed_addresses=("10.0.0.1", "10.0.0.2"), allowed_numbers=None, remote_domains=())
    assert c is not None and c.view() == d.view()
    e = InboundState(allowed_numbers=("+1 415 555 0100",), remote_domains=("PBX.example.com",))
    f = InboundState(allowed_numbers=("+14155550100",), remote_domains=("pbx.example.com",))
    assert e.view() == f.view()
    assert diff_views(TrunkState(outbound=a, inbound=c).view(), TrunkState(outbound=b, inbound=d).view()) == []


def test_rule_destinations_normalise() -> None:
    a = desired.rule(
        TransferRule.model_validate({"to": "{{ manager }}", "condition": "c", "sip_headers": {"X": "{{ v }}"}})
    )
    b = desired.rule(
        TransferRule.model_validate({"to": "{{manager}}", "condition": "c", "sip_headers": {"X": "{{v}}"}})
    )
    assert a.view() == b.view()
    # The view canonicalises on its own, whoever built the value (the decoded side included).
    raw = RuleState(to="SIP:{{ desk }}", condition="c", type="SIP_REFER", post_dial_digits="{{ ext }}")
    assert (
        raw.view() == RuleState(to="sip:{{desk}}", condition="c", type="sip_refer", post_dial_digits="{{ext}}").view()
    )


def test_field_paths_are_precise_and_lists_of_scalars_whole() -> None:
    before = {
        "label": "a",
        "trunk": {"outbound": {"transport": "tcp", "codecs": ["PCMU/8000"]}},
        "transfers": [{"condition": "x", "to": "+1"}],
    }
    after = {
        "label": "b",
        "trunk": {"outbound": {"transport": "tls", "codecs": ["PCMA/8000", "PCMU/8000"]}},
        "transfers": [{"condition": "y", "to": "+1"}],
    }
    changes = {c.path: (c.before, c.after) for c in diff_views(before, after)}
    assert changes == {
        "label": ("a", "b"),
        "trunk.outbound.transport": ("tcp", "tls"),
        "trunk.outbound.codecs": (["PCMU/8000"], ["PCMA/8000", "PCMU/8000"]),
        "transfers[0].condition": ("x", "y"),
    }
    assert diff_views(before, before) == []
    added = diff_views({"a": None}, {"a": {"b": 1}})
    assert [(c.path, c.before, c.after) for c in added] == [("a", None, {"b": 1})]


def test_diffs_of_state_views_name_the_field_and_the_operation() -> None:
    have = number("+14155550100", trunk=None, caller_id_only=False).view({}, manage_agent=True)
    want = number("+14155550100", caller_id_only=True, agent_id="agent_1").view(
        {"agent_1": "support"}, manage_agent=True
    )
    assert diff_views(have, want) == [
        FieldChange(path="agent", before=None, after="support", op="change"),  # a null is a value
        FieldChange(path="caller_id_only", before=False, after=True, op="change"),
    ]
    unmanaged = number("+14155550100", caller_id_only=False).view({}, manage_agent=False)
    assert [(c.path, c.op) for c in diff_views(unmanaged, have)] == [("agent", "add")]
    assert [(c.path, c.op) for c in diff_views(have, unmanaged)] == [("agent", "remove")]
    assert diff_views(None, have) == [FieldChange(path="", before=None, after=have)]


def test_trunk_view_diffs_show_lists_whole_and_hide_passwords() -> None:
    before = TrunkState(outbound=OutboundState(address="pbx.example.com", codecs=("PCMU/8000",)))
    after = TrunkState(
        static_ip=True,
        outbound=OutboundState(address="pbx.example.com", codecs=("PCMU/8000", "PCMA/8000")),
    )
    changes = {c.path: (c.before, c.after) for c in diff_views(before.view(), after.view())}
    assert changes == {
        "static_ip": (False, True),
        "outbound.codecs": (["PCMU/8000"], ["PCMU/8000", "PCMA/8000"]),
    }
    with_password = OutboundState(
        address="pbx.example.com", credentials=CredentialsState(username="u", password="${PW}")
    )
    observed = OutboundState(address="pbx.example.com", credentials=CredentialsState(username="u"))
    assert diff_views(with_password.view(), observed.view()) == []  # write-only: never compared
