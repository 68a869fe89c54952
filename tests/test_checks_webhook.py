"""`telephony webhook test`: the request sent (elevenlabs-api.md §7 field names), the checks of the answer.

Unit tests run in the quick lane; the ones against real local webhooks (tests/netservers.py)
are `slow`.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from provisioner.checks import webhook
from provisioner.cli import cli
from provisioner.manifest import Manifest
from tests import netservers

AGENT_ID = "agent_3701k3ttaq12ewp8b7qv5rfyszkz"
TOKEN = "hook-token-Zz91xQ"


def manifest_text(url: str, *, own: bool = False) -> str:
    headers = 'headers: {Authorization: "Bearer ${HOOK_TOKEN}", X-Source: elevenlabs}'
    workspace = "" if own else f"pre_call_webhook:\n  url: {url}\n  {headers}\n"
    agent_hook = f"pre_call_webhook:\n      url: {url}\n      {headers}" if own else "pre_call_webhook: true"
    return f"""version: 1
{workspace}agents:
  support:
    id: {AGENT_ID}
    {agent_hook}
    dynamic_variables:
      customer_name: there
    transfers:
      - to: "+14155550199"
        condition: The caller asks for a human.
        wait_message: Hold on, {{{{customer_name}}}}.
        handoff_message: "{{{{account_status}}}} customer, order {{{{order_id}}}}, from {{{{system__caller_id}}}}."
phone_numbers:
  main:
    number: "+14155550100"
    label: Main
    provider: sip_trunk
    sip_trunk: pbx
    agent: support
sip_trunks:
  pbx:
    outbound:
      address: pbx.example.com
"""


def load(text: str) -> Manifest:
    import yaml

    return Manifest.model_validate(yaml.safe_load(text))


def test_required_variables_come_from_transfers_messages_and_placeholders() -> None:
    manifest = load(manifest_text("https://hooks.example.com/x"))
    required = webhook.required_variables(manifest.agents["support"])
    assert list(required) == ["customer_name", "account_status", "order_id"]
    assert required["customer_name"] == ["dynamic_variables", "transfers[0].wait_message"]
    assert "system__caller_id" not in required  # filled in by the platform


def test_selects_the_agents_own_webhook_else_the_workspace_one() -> None:
    own = webhook.select(load(manifest_text("https://own.example.com/", own=True)), "support")
    assert (own.url, own.source) == ("https://own.example.com/", "agent 'support'")
    shared = webhook.select(load(manifest_text("https://ws.example.com/")), None)
    assert (shared.url, shared.source) == ("https://ws.example.com/", "workspace")
    with pytest.raises(webhook.WebhookTestError, match="not an agent alias"):
        webhook.select(load(manifest_text("https://ws.example.com/")), "nobody")


def test_headers_are_resolved_for_sending_and_shown_as_written() -> None:
    prepared = webhook.prepare_headers(
        {"Authorization": "Bearer ${HOOK_TOKEN}", "X-Api-Key": "literal-key-123", "X-Source": "el"},
        {"HOOK_TOKEN": TOKEN},
    )
    assert prepared.headers["Authorization"] == f"Bearer {TOKEN}"
    assert prepared.shown["Authorization"] == "Bearer ${HOOK_TOKEN}"
    assert prepared.shown["X-Api-Key"] == webhook.MASK
    assert prepared.shown["X-Source"] == "el"
    assert webhook.mask(f"echo Bearer {TOKEN}", prepared.secrets) == f"echo {webhook.MASK}"
    with pytest.raises(webhook.WebhookTestError, match="HOOK_TOKEN"):
        webhook.prepare_headers({"Authorization": "Bearer ${HOOK_TOKEN}"}, {})


def test_a_stored_secret_header_is_skipped_and_said_so() -> None:
    prepared = webhook.prepare_headers({"Authorization": {"secret": "crm"}}, {})
    assert "Authorization" not in prepared.headers
    assert "cannot be read back" in prepared.notes[0]


def test_answer_checks() -> None:
    selected = webhook.select(load(manifest_text("https://ws.example.com/")), "support")
    good = json.dumps({"type": webhook.RESPONSE_TYPE, "dynamic_variables": netservers.GOOD_VARIABLES})
    assert {c.status for c in webhook.check_answer(200, good, 0.1, selected)} == {"ok"}
    statuses = {
        c.name: c.status for c in webhook.check_answer(200, '{"type": "x", "dynamic_variables": []}', 0.1, selected)
    }
    assert statuses["type"] == "fail" and statuses["dynamic_variables"] == "fail" and statuses["variables"] == "fail"
    assert webhook.check_answer(200, "<html>", 0.1, selected)[-1].name == "json"
    assert webhook.check_answer(503, good, 0.1, selected)[0].status == "fail"


# -- against real local webhooks --------------------------------------------------------------------


def run(tmp_path: Path, url: str, *args: str, own: bool = False) -> tuple[int, str]:
    path = tmp_path / "telephony.yaml"
    path.write_text(manifest_text(url, own=own))
    result = CliRunner().invoke(
        cli, ["webhook", "test", "-f", str(path), *args], env={"HOOK_TOKEN": TOKEN}, catch_exceptions=False
    )
    assert TOKEN not in result.output
    return result.exit_code, result.stdout


@pytest.mark.slow
def test_a_correct_webhook_passes_and_gets_the_documented_request(tmp_path: Path) -> None:
    with netservers.webhook("good") as hook:
        code, out = run(tmp_path, hook.url, "--caller", "+12025550111")
    assert code == 0, out
    headers, body = hook.requests[0]
    assert set(body) == {"caller_id", "agent_id", "called_number", "call_sid"}
    assert body["caller_id"] == "+12025550111"
    assert body["agent_id"] == AGENT_ID
    assert body["called_number"] == "+14155550100"  # the agent's number
    assert headers["Authorization"] == f"Bearer {TOKEN}"
    assert "Bearer ${HOOK_TOKEN}" in out
    assert "Webhook test: 5 ok, 0 warn, 0 fail." in out


@pytest.mark.slow
def test_a_500_fails(tmp_path: Path) -> None:
    with netservers.webhook("500") as hook:
        code, out = run(tmp_path, hook.url)
    assert code == 1
    assert "HTTP 500 (expected 200)" in out


@pytest.mark.slow
def test_a_slow_webhook_times_out(tmp_path: Path) -> None:
    with netservers.webhook("slow", slow_s=2.0) as hook:
        code, out = run(tmp_path, hook.url, "--timeout", "0.3")
    assert code == 1
    assert "no answer within 0.3s" in out


@pytest.mark.slow
def test_a_missing_variable_is_listed_with_where_it_is_used(tmp_path: Path) -> None:
    with netservers.webhook("missing") as hook:
        code, out = run(tmp_path, hook.url, "--agent", "support", own=True)
    assert code == 1
    assert "missing: order_id (used in transfers[0].handoff_message)" in out


@pytest.mark.slow
def test_secret_values_echoed_back_are_masked_and_json_output(tmp_path: Path) -> None:
    with netservers.webhook("echo") as hook:
        code, out = run(tmp_path, hook.url, "--format", "json")
    report = json.loads(out)
    assert code == 0
    assert report["request"]["headers"]["Authorization"] == "Bearer ${HOOK_TOKEN}"
    assert webhook.MASK in report["response"]["body"]
    assert report["summary"] == {"ok": 5, "warn": 0, "fail": 0}


@pytest.mark.slow
def test_lists_and_objects_are_not_scalar_variables(tmp_path: Path) -> None:
    with netservers.webhook("nested") as hook:
        code, out = run(tmp_path, hook.url)
    assert code == 1
    assert "not scalar (string, number, boolean): orders" in out
