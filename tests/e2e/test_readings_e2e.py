"""Converge under every plausible reading of the API: the round trip, removals included, per switch.

The emulator plays each reading the sources leave open (`--semantics`, docs/emulator.md). Under
each one (one switch changed at a time), the CLI applies a manifest, re-plans empty, applies an
edit that removes a placeholder, webhook headers (workspace and agent), a transfer rule and a
whole transfer tool and reorders codecs, re-plans empty, reports no drift, and rotates secrets;
no value the tool does not own changes, and every request body it sent validates against the
official spec's request schemas (with placeholder values typed as the API reference types them).
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest

from provisioner.emulator.semantics import SWITCHES, one_switch_at_a_time
from tests.e2e.conftest import PROMPTS, SALES, SEED, SUPPORT, Cli

pytestmark = pytest.mark.e2e
ROOT = Path(__file__).resolve().parents[2]
DEFAULTS = {name: values[0] for name, values in SWITCHES.items()}
READINGS = [dict([spec.split("=")]) if spec else {} for spec in one_switch_at_a_time()]

MANIFEST = """\
version: 1
pre_call_webhook:
  url: https://crm.example.com/elevenlabs/pre-call
  headers: {Authorization: "Bearer ${CRM_WEBHOOK_TOKEN}", X-Source: elevenlabs}
agents:
  support:
    id: agent_3701k3ttaq12ewp8b7qv5rfyszkz
    pre_call_webhook: true
    dynamic_variables: {customer_name: there, account_status: standard}
    overrides: [first_message, language]
    transfers:
      - {to: "+14155550199", condition: The caller asks for a human, wait_message: Please hold.}
      - {to: "sip:queue@pbx.example.com", type: sip_refer, condition: The caller asks for billing}
  sales:
    id: agent_4801k3ttaq12ewp8b7qv5rfysabc
    dynamic_variables: {region: west}
    pre_call_webhook:
      url: https://sales.example.com/hook
      headers: {Authorization: "Bearer ${CRM_WEBHOOK_TOKEN}", X-Extra: "yes"}
    transfers:
      - {to: "+14155550198", condition: The caller asks for a manager}
sip_trunks:
  main-pbx:
    outbound:
      address: pbx.example.com
      transport: tls
      codecs: [PCMU/8000, PCMA/8000]
      credentials: {username: elevenlabs, password: "${PBX_SIP_PASSWORD}"}
    inbound: {allowed_addresses: [203.0.113.0/24]}
phone_numbers:
  support-line:
    number: "+14155550100"
    label: Customer Support Line
    provider: twilio
    twilio: {account_sid: "${TWILIO_ACCOUNT_SID}", auth_token: "${TWILIO_AUTH_TOKEN}"}
    agent: support
  sales-pbx: {number: "+14155550101", label: Sales via PBX, provider: sip_trunk, sip_trunk: main-pbx, agent: support}
"""
EDITED = (
    MANIFEST.replace("{customer_name: there, account_status: standard}", "{customer_name: there, account_status: null}")
    .replace('      - {to: "sip:queue@pbx.example.com", type: sip_refer, condition: The caller asks for billing}\n', "")
    .replace(
        'Authorization: "Bearer ${CRM_WEBHOOK_TOKEN}", X-Source: elevenlabs}',
        'Authorization: "Bearer ${CRM_WEBHOOK_TOKEN}"}',
    )
    .replace(
        '{Authorization: "Bearer ${CRM_WEBHOOK_TOKEN}", X-Extra: "yes"}',
        '{Authorization: "Bearer ${CRM_WEBHOOK_TOKEN}"}',
    )
    .replace(
        '    transfers:\n      - {to: "+14155550198", condition: The caller asks for a manager}\n',
        "    transfers: []\n",
    )
    .replace("codecs: [PCMU/8000, PCMA/8000]", "codecs: [PCMA/8000, PCMU/8000]")
)
UNOWNED_SETTINGS = {"can_use_mcp_servers": True, "rag_retention_period_days": 21}


def test_the_edit_removes_what_it_should() -> None:
    for needle in ("account_status: null", "transfers: []", "[PCMA/8000, PCMU/8000]"):
        assert needle in EDITED
    for gone in ("X-Source", "X-Extra", "sip:queue@"):
        assert gone not in EDITED


def unowned(cli: Cli) -> dict[str, Any]:
    """What the tool must never change: prompts, first messages, other placeholders and tools, settings."""
    with cli.server.client() as api:
        agents = {a: api.get(f"/v1/convai/agents/{a}").json() for a in (SUPPORT, SALES)}
        settings = api.get("/v1/convai/settings").json()
    picked: dict[str, Any] = {key: settings.get(key) for key in UNOWNED_SETTINGS}
    for agent_id, agent in agents.items():
        config = agent["conversation_config"]["agent"]
        picked[agent_id] = {
            "prompt": config["prompt"]["prompt"],
            "first_message": config["first_message"],
            "llm": config["prompt"]["llm"],
            "end_call": config["prompt"]["built_in_tools"].get("end_call"),
            "elsewhere": config["dynamic_variables"]["dynamic_variable_placeholders"].get("set_elsewhere"),
            "voice": agent["conversation_config"]["tts"]["voice_id"],
            "call_limits": agent["platform_settings"].get("call_limits"),
        }
    return picked


def seed_unowned(cli: Cli) -> dict[str, Any]:
    """Values set elsewhere (the dashboard, another tool) that the tool must leave alone."""
    end_call = {"type": "system", "name": "end_call", "description": "", "params": {"system_tool_type": "end_call"}}
    with cli.server.client() as api:
        api.patch("/v1/convai/settings", json=UNOWNED_SETTINGS).raise_for_status()
        for agent_id in (SUPPORT, SALES):
            # The whole section, as a dashboard writes it: right under every agent_patch reading.
            config = api.get(f"/v1/convai/agents/{agent_id}").json()["conversation_config"]
            config["agent"]["dynamic_variables"]["dynamic_variable_placeholders"]["set_elsewhere"] = "keep me"
            config["agent"]["prompt"]["built_in_tools"]["end_call"] = end_call
            api.patch(f"/v1/convai/agents/{agent_id}", json={"conversation_config": config}).raise_for_status()
    before = unowned(cli)
    assert before[SUPPORT]["prompt"] == PROMPTS[SUPPORT] and before[SUPPORT]["elsewhere"] == "keep me"
    assert before["rag_retention_period_days"] == 21
    return before


@pytest.mark.parametrize("reading", READINGS, ids=lambda r: ",".join(f"{k}={v}" for k, v in r.items()) or "defaults")
def test_round_trip_converges_under_the_reading(cli: Cli, reading: dict[str, str]) -> None:
    semantics = cli.server.call("PUT", "semantics", reading)
    assert semantics == {**DEFAULTS, **reading}
    before = seed_unowned(cli)
    cli.server.call("DELETE", "requests")

    cli.write(MANIFEST)
    applied = cli("apply", "--auto-approve")
    assert applied.returncode == 0, applied.stdout + applied.stderr
    if reading.get("codec_order") == "sorted":
        assert "the API does not keep codec order" in applied.stdout
    clean = cli("plan", "--detailed-exitcode")
    assert clean.returncode == 0, clean.stdout + clean.stderr

    cli.write(EDITED)
    planned = cli("plan")
    assert "sent in two requests: the webhook is cleared, then written whole" in planned.stdout
    edited = cli("apply", "--auto-approve")
    merges_placeholders = reading.get("agent_patch", "merge") == "merge"
    if merges_placeholders:
        # Null is never sent; an API that merges the placeholder map keeps the key: exit 6 with
        # the manual fix, and the next plan says the same (never a loop).
        assert edited.returncode == 6, edited.stdout + edited.stderr
        assert "placeholder 'account_status' is still set" in edited.stdout and "dashboard" in edited.stdout
        again = cli("plan", "--detailed-exitcode")
        assert again.returncode == 2 and "account_status" in again.stdout
        dashboard_remove_placeholder(cli, SUPPORT, "account_status")
    else:
        assert edited.returncode == 0, edited.stdout + edited.stderr
    clean = cli("plan", "--detailed-exitcode")
    assert clean.returncode == 0, clean.stdout + clean.stderr
    assert cli("drift").returncode == 0

    rotated = cli("apply", "--auto-approve", "--rotate-secrets", "--allow-replace")
    assert rotated.returncode == 0, rotated.stdout + rotated.stderr
    assert cli("plan", "--detailed-exitcode").returncode == 0

    assert unowned(cli) == before
    with cli.server.client() as api:
        sales = api.get(f"/v1/convai/agents/{SALES}").json()
        support = api.get(f"/v1/convai/agents/{SUPPORT}").json()
        settings = api.get("/v1/convai/settings").json()
    own = sales["platform_settings"]["workspace_overrides"]["conversation_initiation_client_data_webhook"]
    assert sorted(own["request_headers"]) == ["Authorization"]
    assert sorted(settings["conversation_initiation_client_data_webhook"]["request_headers"]) == ["Authorization"]
    assert sales["conversation_config"]["agent"]["prompt"]["built_in_tools"]["transfer_to_number"] is None
    tool = support["conversation_config"]["agent"]["prompt"]["built_in_tools"]["transfer_to_number"]
    assert len(tool["params"]["transfers"]) == 1
    placeholders = support["conversation_config"]["agent"]["dynamic_variables"]["dynamic_variable_placeholders"]
    assert "account_status" not in placeholders and placeholders["set_elsewhere"] == "keep me"
    assert len(cli.server.call("GET", "requests")) > 10  # each is checked against the spec (conftest)


def dashboard_remove_placeholder(cli: Cli, agent_id: str, key: str) -> None:
    """What a person does in the dashboard: the map written whole without the key."""
    semantics = cli.server.call("GET", "semantics")
    cli.server.call("PUT", "semantics", {"agent_patch": "replace"})
    with cli.server.client() as api:
        agent = api.get(f"/v1/convai/agents/{agent_id}").json()
        config = copy.deepcopy(agent["conversation_config"])
        config["agent"]["dynamic_variables"]["dynamic_variable_placeholders"].pop(key)
        api.patch(f"/v1/convai/agents/{agent_id}", json={"conversation_config": config}).raise_for_status()
    cli.server.call("PUT", "semantics", semantics)


def test_the_seed_is_what_the_unowned_check_reads() -> None:
    assert {a["agent_id"] for a in SEED["agents"]} == {SUPPORT, SALES}
