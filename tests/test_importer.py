"""`telephony import`'s workspace → manifest logic: trunk folding and naming, variables, left-outs."""

from __future__ import annotations

import yaml

from provisioner import importer
from provisioner.api.live import ImportedAgent, LiveNumber, Snapshot
from provisioner.manifest import Manifest
from provisioner.state import (
    AgentState,
    CredentialsState,
    ForeignHeader,
    NumberState,
    OutboundState,
    SecretRef,
    TrunkState,
    WebhookState,
)

PBX = TrunkState(outbound=OutboundState(address="pbx.example.com:5060", credentials=CredentialsState(username="u")))
PBX_TLS = TrunkState(outbound=OutboundState(address="PBX.example.com", transport="tls"))
IP = TrunkState(outbound=OutboundState(address="203.0.113.5"))


def sip(pid: str, e164: str, trunk: TrunkState, agent: str | None = None) -> LiveNumber:
    return LiveNumber(
        pid, NumberState(number=e164, label=f"Line {e164}", provider="sip_trunk", agent_id=agent, trunk=trunk)
    )


def test_identical_trunks_share_one_and_names_are_unique_and_stable() -> None:
    numbers = [("+14155550103", PBX_TLS), ("+14155550101", PBX), ("+14155550102", PBX), ("+14155550104", IP)]
    by_number, trunks = importer.fold_trunks(numbers)
    assert by_number == {
        "+14155550101": "pbx-example-com",
        "+14155550102": "pbx-example-com",
        "+14155550103": "pbx-example-com-2",
        "+14155550104": "trunk-203-0-113-5",
    }
    assert trunks["pbx-example-com"] == PBX
    # The listing order does not change the names.
    assert importer.fold_trunks(reversed(numbers)) == (by_number, trunks)


def test_equal_meaning_folds_case_and_order() -> None:
    a = TrunkState(outbound=OutboundState(address="Pbx.Example.com", transport="TCP"))
    b = TrunkState(outbound=OutboundState(address="pbx.example.com", transport="tcp"))
    _, trunks = importer.fold_trunks([("+14155550101", a), ("+14155550102", b)])
    assert list(trunks) == ["pbx-example-com"]


def test_names_and_variables() -> None:
    assert importer.unique("a", {"a", "a-2"}) == "a-3"
    assert importer.env_name("pbx-example-com", "outbound", "password") == "PBX_EXAMPLE_COM_OUTBOUND_PASSWORD"
    assert importer.trunk_base_name(TrunkState()) == "sip-trunk"


def test_build_writes_a_valid_manifest_with_references_and_left_outs() -> None:
    agent = ImportedAgent(
        "agent_1",
        "Front Desk",
        AgentState(
            pre_call_webhook=WebhookState(
                url="https://h.example.com",
                headers=(
                    ("Authorization", SecretRef(secret="crm-token")),
                    ("X-Key", SecretRef(secret="telephony:agent_1:X-Key")),
                    ("X-Plain", "a ${literal}"),
                ),
            )
        ),
    )
    snap = Snapshot(
        numbers=[
            sip("p1", "+14155550101", PBX, "agent_1"),
            sip("p2", "+14155550102", PBX),
            LiveNumber("p3", NumberState(number="+919876543210", label="Exotel", provider="exotel")),
        ],
        agents=[agent],
        webhook=WebhookState(url="https://w.example.com", headers=(("X-Env", ForeignHeader(shown="(env var L)")),)),
        foreign_webhook=True,
    )
    result = importer.build(snap)
    assert result.text.startswith("# yaml-language-server: $schema=")
    data = yaml.safe_load(result.text)
    Manifest.model_validate(data)
    assert "pre_call_webhook" not in data
    hook = data["agents"]["front-desk"]["pre_call_webhook"]
    assert hook["headers"] == {
        "Authorization": {"secret": "crm-token"},
        "X-Key": "${FRONT_DESK_WEBHOOK_X_KEY}",
        "X-Plain": "a $${literal}",
    }
    assert data["sip_trunks"]["pbx-example-com"]["outbound"]["credentials"] == {
        "username": "u",
        "password": "${PBX_EXAMPLE_COM_OUTBOUND_PASSWORD}",
    }
    assert [n["sip_trunk"] for n in data["phone_numbers"].values()] == ["pbx-example-com"] * 2
    assert dict(result.variables).keys() == {"FRONT_DESK_WEBHOOK_X_KEY", "PBX_EXAMPLE_COM_OUTBOUND_PASSWORD"}
    assert any("exotel" in item for item in result.left_out)
    assert any(item.startswith("pre_call_webhook:") for item in result.left_out)
    assert "#   PBX_EXAMPLE_COM_OUTBOUND_PASSWORD: " in result.text
