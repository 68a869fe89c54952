"""Deterministic plans in which one SIP trunk edit lands on many numbers (render and golden tests)."""

from __future__ import annotations

from typing import Any

import yaml

from provisioner.manifest import Manifest
from provisioner.plan import Plan
from provisioner.planner import build_plan
from tests.helpers import live_state

OLD_ADDRESS = "old-pbx.example.com"
NEW_ADDRESS = "pbx.example.com"


def number(i: int) -> str:
    return f"+1415777{i:04d}"


def live_number(i: int, address: str = OLD_ADDRESS, label: str | None = None) -> dict[str, Any]:
    """A SIP-trunk number as the API lists it, its trunk sending to `address` over TCP."""
    return {
        "phone_number": number(i),
        "label": label or f"Line {i}",
        "phone_number_id": f"phnum_{i:04d}",
        "provider": "sip_trunk",
        "outbound_trunk": {
            "address": address,
            "transport": "tcp",
            "media_encryption": "allowed",
            "headers": {},
            "attributes_to_headers": {},
            "enabled_codecs": [],
            "has_auth_credentials": False,
        },
        "livekit_stack": "standard",
        "store_sip_messages": True,
    }


def manifest(count: int, *, twilio: bool = False, prune: bool = False) -> Manifest:
    """`count` numbers on trunk `pbx`, which now sends to NEW_ADDRESS over TLS (and one Twilio number)."""
    numbers: dict[str, Any] = {
        f"line-{i}": {"number": number(i), "label": f"Line {i}", "provider": "sip_trunk", "sip_trunk": "pbx"}
        for i in range(count)
    }
    if twilio:
        numbers["front-desk"] = {
            "number": "+14155550100",
            "label": "Front desk",
            "provider": "twilio",
            "twilio": {"account_sid": "${TWILIO_SID}", "auth_token": "${TWILIO_TOKEN}"},
        }
    body: dict[str, Any] = {
        "version": 1,
        "workspace": {"prune": prune, "max_deletes": 0},
        "sip_trunks": {"pbx": {"outbound": {"address": NEW_ADDRESS, "transport": "tls"}}},
        "phone_numbers": numbers,
    }
    return Manifest.model_validate(yaml.safe_load(yaml.safe_dump(body)))


def trunk_plan(
    count: int, live: list[dict[str, Any]] | None = None, *, twilio: bool = False, prune: bool = False
) -> Plan:
    """The plan for `manifest(count)` against `live` (default: every number on the old trunk)."""
    numbers = live if live is not None else [live_number(i) for i in range(count)]
    plan = build_plan(manifest(count, twilio=twilio, prune=prune), live_state(numbers, settings={}))
    plan.workspace = {"api_url": "https://api.elevenlabs.io", "key_fingerprint": "sha256:0123abcd"}
    return plan
