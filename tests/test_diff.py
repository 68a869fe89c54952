"""Normalisation and field diffs: equal meaning compares equal, so an applied manifest plans nothing."""

from __future__ import annotations

from provisioner.diff import diff_views, e164, inbound_view, outbound_view, rule_view
from provisioner.manifest import InboundTrunk, OutboundTrunk, TransferRule


def test_e164_normalisation() -> None:
    assert e164("+1 (415) 555-0100") == "+14155550100"
    assert e164("0044 20 7946 0000") == "+442079460000"
    assert e164("+14155550100") == "+14155550100"


def test_order_case_and_empty_values_do_not_make_a_diff() -> None:
    a = OutboundTrunk.model_validate(
        {"address": "PBX.Example.com", "transport": "tls", "codecs": ["PCMU/8000", "PCMA/8000"]}
    )
    b = OutboundTrunk.model_construct(
        address="pbx.example.com",
        transport="TLS",
        media_encryption="allowed",
        headers={},
        attributes_to_headers={},
        codecs=["pcma/8000", "PCMU/8000"],
        credentials=None,
    )
    assert outbound_view(a) == outbound_view(b)
    c = InboundTrunk.model_validate({"allowed_addresses": ["10.0.0.2", "10.0.0.1"], "allowed_numbers": []})
    d = InboundTrunk.model_construct(
        allowed_addresses=["10.0.0.1", "10.0.0.2"],
        allowed_numbers=None,
        media_encryption="allowed",
        credentials=None,
        remote_domains=[],
        attributes_to_headers={},
    )
    assert inbound_view(c) == inbound_view(d)


def test_rule_destinations_normalise() -> None:
    a = TransferRule.model_validate({"to": "{{ manager }}", "condition": "c", "sip_headers": {"X": "{{ v }}"}})
    b = TransferRule.model_validate({"to": "{{manager}}", "condition": "c", "sip_headers": {"X": "{{v}}"}})
    assert rule_view(a) == rule_view(b)


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
