"""Property: whatever valid telephony settings a manifest holds, apply then plan gives "No changes".

Random trunks, labels, assignments and transfer rules are applied to a fresh in-process emulator;
the re-plan must be empty. This is the guard against perpetual diffs from normalisation gaps.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from provisioner.api.codec import OVERRIDE_PATHS
from provisioner.emulator import build_app
from provisioner.emulator.semantics import one_switch_at_a_time
from provisioner.manifest import Manifest
from tests import helpers

pytestmark = pytest.mark.slow  # property-based: hundreds of generated examples

AGENTS = {"a": "agent_3701k3ttaq12ewp8b7qv5rfyszkz", "b": "agent_4801k3ttaq12ewp8b7qv5rfysabc"}
words = (
    st.text(st.characters(min_codepoint=32, max_codepoint=0x2FF, blacklist_characters="\\"), min_size=1, max_size=20)
    .map(str.strip)
    .filter(bool)
)
header_key = st.from_regex(r"X-[A-Za-z0-9]{1,8}", fullmatch=True)
header_value = st.from_regex(r"[a-z0-9]{1,10}", fullmatch=True)
host = st.sampled_from(["pbx.example.com", "PBX.Example.com", "10.0.0.5", "sip.example.org:5061"])

outbound = st.fixed_dictionaries(
    {"address": host},
    optional={
        "transport": st.sampled_from(["auto", "tcp", "tls", "udp"]),
        "media_encryption": st.sampled_from(["disabled", "allowed", "required"]),
        "headers": st.dictionaries(header_key, header_value, max_size=3),
        "codecs": st.lists(st.sampled_from(["PCMU/8000", "PCMA/8000", "G722/8000"]), unique=True),
        "credentials": st.just({"username": "u", "password": "${PW}"}),
    },
)
inbound = st.fixed_dictionaries(
    {},
    optional={
        "allowed_addresses": st.lists(st.sampled_from(["10.0.0.0/8", "203.0.113.7", "198.51.100.0/24"]), unique=True),
        "allowed_numbers": st.lists(st.sampled_from(["+14155550100", "+442079460000"]), unique=True),
        "media_encryption": st.sampled_from(["disabled", "allowed", "required"]),
        "remote_domains": st.lists(st.sampled_from(["pbx.example.com", "Example.org"]), unique=True),
        "attributes_to_headers": st.dictionaries(st.sampled_from(["crm_id", "ticket"]), header_key, max_size=2),
    },
)
trunk = st.fixed_dictionaries(
    {},
    optional={
        "static_ip": st.booleans(),
        "store_sip_messages": st.booleans(),
        "outbound": outbound,
        "inbound": inbound,
    },
)
rule = st.fixed_dictionaries(
    {"to": st.sampled_from(["+14155550199", "{{manager}}"]), "condition": words},
    optional={
        "type": st.sampled_from(["conference", "blind"]),
        "wait_message": words,
        "handoff_message": words,
        "sip_headers": st.dictionaries(header_key, st.sampled_from(["static", "{{caller}}"]), max_size=2),
        "post_dial_digits": st.sampled_from(["123#", "ww9", "{{ext}}"]),
    },
)


webhook = st.fixed_dictionaries(
    {"url": st.sampled_from(["https://crm.example.com/hook", "https://x.example.org/a?b=1"])},
    optional={
        "headers": st.dictionaries(header_key, st.sampled_from(["plain", "Bearer ${TOK}", "${TOK}"]), max_size=3)
    },
)


@st.composite
def manifests(draw: st.DrawFn) -> dict[str, Any]:
    count = draw(st.integers(1, 3))
    numbers = {}
    for i in range(count):
        numbers[f"n{i}"] = {
            "number": f"+1415555{i:04d}",
            "label": draw(words),
            "provider": "sip_trunk",
            "sip_trunk": "t",
            "agent": draw(st.sampled_from(["a", "b", None])),
        }
    data: dict[str, Any] = {
        "version": 1,
        "agents": {
            "a": {
                "id": AGENTS["a"],
                "transfers": draw(st.lists(rule, max_size=3)),
                "dynamic_variables": draw(st.dictionaries(st.sampled_from(["x", "y"]), st.integers(0, 9))),
                "overrides": draw(st.lists(st.sampled_from(sorted(OVERRIDE_PATHS)), unique=True, max_size=4)),
            },
            "b": {"id": AGENTS["b"], "pre_call_webhook": draw(st.booleans() | webhook)},
        },
        "sip_trunks": {"t": draw(trunk)},
        "phone_numbers": numbers,
    }
    if draw(st.booleans()):
        data["pre_call_webhook"] = draw(st.none() | webhook)
    return data


async def apply_then_replan(manifest: Manifest, semantics: str = "") -> list[str]:
    seed = {"agents": [{"agent_id": i, "name": a} for a, i in AGENTS.items()]}
    app = build_app(seed=seed, semantics=semantics or None)
    async with helpers.emulator_client(app) as client:
        _, report = await helpers.plan_and_apply(client, manifest, {"PW": "pw", "TOK": "tok"})
        problems = [f"{r.address}: {r.status} {r.message}" for r in report.results if r.status != "applied"]
        again = await helpers.replan(client, manifest)
        return problems + [f"{c.address}: {[f.path for f in c.fields]}" for c in again.actionable]


# One switch changed at a time (docs/emulator.md, "Semantics switches"): the tool converges under each.
READINGS = one_switch_at_a_time()


@pytest.mark.slow
@pytest.mark.parametrize("semantics", READINGS, ids=lambda s: s or "defaults")
@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=manifests())
def test_applied_manifests_plan_no_changes(semantics: str, data: dict[str, Any]) -> None:
    manifest = Manifest.model_validate(data)
    assert asyncio.run(apply_then_replan(manifest, semantics)) == []
