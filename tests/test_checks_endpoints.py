"""`telephony endpoints`: hosts and ports only as the references give them; none invented."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from provisioner.checks.endpoints import SIP_HOSTS, endpoints
from provisioner.cli import cli
from provisioner.manifest import Manifest

TRUNK_NUMBER = {"number": "+14155550100", "label": "Main", "provider": "sip_trunk", "sip_trunk": "pbx"}


def manifest(region: str = "default", *, static_ip: bool = False, transport: str = "tcp", inbound: bool = True) -> dict:
    trunk: dict = {"static_ip": static_ip, "outbound": {"address": "pbx.example.com", "transport": transport}}
    if inbound:
        trunk["inbound"] = {"credentials": {"username": "pbx-user", "password": "${PW}"}}
    return {
        "version": 1,
        "workspace": {"region": region},
        "sip_trunks": {"pbx": trunk},
        "phone_numbers": {
            "main": TRUNK_NUMBER,
            "twilio": {
                "number": "+14155550101",
                "label": "T",
                "provider": "twilio",
                "twilio": {"account_sid": "${SID}", "auth_token": "${TOKEN}"},
            },
        },
    }


def only(data: dict):  # type: ignore[no-untyped-def]
    found = endpoints(Manifest.model_validate(data))
    assert len(found) == 1  # the Twilio number has no PBX side
    return found[0]


def test_default_region_standard_stack() -> None:
    point = only(manifest())
    assert point.host == "sip.rtc.elevenlabs.io"
    assert point.request_uri == "sip:+14155550100@sip.rtc.elevenlabs.io"
    assert point.digest_username == "pbx-user"
    assert [(p.transport, p.port, p.available) for p in point.ports] == [
        ("tcp", 5060, True),
        ("tls", 5061, True),
        ("udp", None, False),
    ]
    assert not point.warnings


def test_static_ip_says_a_slash_24_must_be_allow_listed_without_inventing_it() -> None:
    point = only(manifest(static_ip=True))
    assert point.host == "sip-static.rtc.elevenlabs.io"
    assert any("/24" in note and "support" in note for note in point.notes)


@pytest.mark.parametrize("region", ["us", "eu", "in", "sg"])
def test_no_host_is_invented_for_a_region_the_references_do_not_list(region: str) -> None:
    point = only(manifest(region))
    assert point.host is None and point.request_uri is None
    assert any("no ElevenLabs SIP host" in w for w in point.warnings)


def test_eu_static_carries_the_references_caveat() -> None:
    point = only(manifest("eu", static_ip=True))
    assert point.host == "sip-static.rtc.eu.residency.elevenlabs.io"
    assert any("contact ElevenLabs support" in note for note in point.notes)


def test_every_listed_host_is_an_elevenlabs_host() -> None:
    assert all(host.endswith(".elevenlabs.io") for host in SIP_HOSTS.values())


def test_udp_transport_and_missing_inbound_warn() -> None:
    point = only(manifest(transport="udp", inbound=False))
    assert point.digest_username is None
    assert any("udp" in w for w in point.warnings)
    assert any("no inbound section" in w for w in point.warnings)


def test_cli_text_and_json(tmp_path: Path) -> None:
    path = tmp_path / "telephony.yaml"
    path.write_text(yaml.safe_dump(manifest(static_ip=True)))
    text = CliRunner().invoke(cli, ["endpoints", "-f", str(path)])
    assert text.exit_code == 0, text.output
    assert "Request-URI: sip:+14155550100@sip-static.rtc.elevenlabs.io" in text.stdout
    assert "UDP: not available" in text.stdout
    data = json.loads(CliRunner().invoke(cli, ["endpoints", "-f", str(path), "--format", "json"]).stdout)
    assert data["endpoints"][0]["digest_username"] == "pbx-user"
