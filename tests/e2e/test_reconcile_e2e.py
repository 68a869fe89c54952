"""The reconciler end to end: the CLI as a subprocess against the emulator as a real server."""

from __future__ import annotations

import json
from typing import Any

import pytest
from pydantic import TypeAdapter

from provisioner.changes import AnyChange
from provisioner.plan import Plan
from tests.e2e.conftest import PROMPTS, SALES, SUPPORT, UNMANAGED, Cli
from tests.e2e.manifests import FULL, numbers_manifest

pytestmark = pytest.mark.e2e


def numbers(cli: Cli) -> dict[str, dict]:
    with cli.server.client() as api:
        items = api.get("/v1/convai/phone-numbers").json()
    return {n["phone_number"]: n for n in items}


def agent(cli: Cli, agent_id: str) -> dict:
    with cli.server.client() as api:
        return api.get(f"/v1/convai/agents/{agent_id}").json()


def unmanaged_part(body: dict) -> str:
    """The agent minus what the manifest manages (and timestamps/assigned numbers), as JSON text."""
    body = json.loads(json.dumps(body))
    body.pop("metadata", None)
    body.pop("phone_numbers", None)
    agent_cfg = body["conversation_config"]["agent"]
    agent_cfg["prompt"].get("built_in_tools", {}).pop("transfer_to_number", None)
    agent_cfg.get("dynamic_variables", {}).pop("dynamic_variable_placeholders", None)
    platform = body["platform_settings"]
    platform.get("overrides", {}).pop("enable_conversation_initiation_client_data_from_webhook", None)
    platform.get("overrides", {}).pop("conversation_config_override", None)
    platform.get("workspace_overrides", {}).pop("conversation_initiation_client_data_webhook", None)
    return json.dumps(body, sort_keys=True)


def drift_blocks(text: str) -> dict[str, list[str]]:
    """`# ADDRESS differs from the manifest` blocks of drift's text output: address -> its sorted field lines."""
    blocks: dict[str, list[str]] = {}
    current: list[str] | None = None
    for line in text.splitlines():
        stripped = line.strip()
        if stripped.startswith("# ") and stripped.endswith(" differs from the manifest"):
            current = blocks.setdefault(stripped[2 : -len(" differs from the manifest")], [])
        elif current is not None and stripped.startswith(("~ ", "+ ", "- ")) and " = " in stripped:
            current.append(stripped)
        elif stripped == "}":
            current = None
    return {address: sorted(lines) for address, lines in blocks.items()}


def test_apply_then_no_changes_then_drift_restored(cli: Cli) -> None:
    cli.write(FULL)
    before = {a: agent(cli, a) for a in (SUPPORT, SALES)}

    first = cli("plan", "--detailed-exitcode")
    assert first.returncode == 2, first.stderr
    # Three numbers and the webhook's secret to add; the webhook and both agents to change.
    assert "Plan: 4 to add, 3 to change, 0 to replace, 0 to destroy." in first.stdout, first.stdout
    applied = cli("apply", "--auto-approve")
    assert applied.returncode == 0, applied.stdout + applied.stderr
    again = cli("plan", "--detailed-exitcode")
    assert again.returncode == 0, again.stdout
    assert "No changes." in again.stdout
    assert cli("drift").returncode == 0

    # Prompts and every field the manifest does not manage are untouched.
    for agent_id in (SUPPORT, SALES):
        assert unmanaged_part(agent(cli, agent_id)) == unmanaged_part(before[agent_id])
        after = agent(cli, agent_id)
        assert after["conversation_config"]["agent"]["prompt"]["prompt"] == PROMPTS[agent_id]
        assert json.dumps(after["conversation_config"]["agent"]["prompt"]["prompt"]) == json.dumps(
            before[agent_id]["conversation_config"]["agent"]["prompt"]["prompt"]
        )
        assert after["name"] == before[agent_id]["name"]
    assert agent(cli, SUPPORT)["conversation_config"]["agent"]["first_message"] == "Hi!"

    # Out-of-band edits: a label, a trunk transport, a transfer rule, an assignment.
    live = numbers(cli)
    with cli.server.client() as api:
        support_line = live["+14155550100"]["phone_number_id"]
        sales_pbx = live["+14155550101"]
        api.patch(f"/v1/convai/phone-numbers/{support_line}", json={"label": "Renamed by hand", "agent_id": SALES})
        outbound = dict(sales_pbx["outbound_trunk"])
        api.patch(
            f"/v1/convai/phone-numbers/{sales_pbx['phone_number_id']}",
            json={
                "outbound_trunk_config": {
                    "address": outbound["address"],
                    "transport": "udp",
                    "media_encryption": outbound["media_encryption"],
                    "headers": outbound["headers"],
                    "enabled_codecs": outbound["enabled_codecs"],
                    "credentials": {"username": "elevenlabs"},
                }
            },
        )
        tool = agent(cli, SUPPORT)["conversation_config"]["agent"]["prompt"]["built_in_tools"]["transfer_to_number"]
        tool["params"]["transfers"][0]["condition"] = "Edited in the dashboard"
        api.patch(
            f"/v1/convai/agents/{SUPPORT}",
            json={"conversation_config": {"agent": {"prompt": {"built_in_tools": {"transfer_to_number": tool}}}}},
        )

    drift = cli("drift")
    assert drift.returncode == 2, drift.stdout + drift.stderr
    # Each edited field is named under its own resource, live value -> declared value, and nothing else.
    assert drift_blocks(drift.stdout) == {
        "phone_number.support-line": [
            '~ agent = "sales" -> "support"',
            '~ label = "Renamed by hand" -> "Customer Support Line"',
        ],
        "phone_number.sales-pbx": ['~ trunk.outbound.transport = "udp" -> "tls"'],
        "agent.support": ['~ transfers[0].condition = "Edited in the dashboard" -> "The caller asks for a human"'],
    }, drift.stdout
    assert "look the same" in drift.stdout
    assert UNMANAGED in drift.stdout

    as_json = json.loads(cli("drift", "--format", "json").stdout)
    changed = {c["address"] for c in as_json["resource_changes"] if c["change"]["actions"] != ["no-op"]}
    assert changed == {"phone_number.support-line", "phone_number.sales-pbx", "agent.support"}
    assert [u["number"] for u in as_json["unmanaged"]] == [UNMANAGED]

    restored = cli("apply", "--auto-approve")
    assert restored.returncode == 0, restored.stdout + restored.stderr
    assert cli("plan", "--detailed-exitcode").returncode == 0
    final = numbers(cli)
    assert final["+14155550100"]["label"] == "Customer Support Line"
    assert final["+14155550100"]["assigned_agent"]["agent_id"] == SUPPORT
    assert final["+14155550101"]["outbound_trunk"]["transport"] == "tls"
    assert UNMANAGED in final  # unmanaged numbers survive
    assert agent(cli, SUPPORT)["conversation_config"]["agent"]["prompt"]["prompt"] == PROMPTS[SUPPORT]


def test_webhook_secret_is_stored_as_workspace_secret(cli: Cli) -> None:
    cli.write(FULL)
    assert cli("apply", "--auto-approve").returncode == 0
    with cli.server.client() as api:
        settings = api.get("/v1/convai/settings").json()
        secrets = api.get("/v1/convai/secrets").json()["secrets"]
    headers = settings["conversation_initiation_client_data_webhook"]["request_headers"]
    assert headers["X-Source"] == "elevenlabs"
    ours = [s for s in secrets if s["name"] == "telephony:workspace:Authorization"]
    assert len(ours) == 1 and headers["Authorization"] == {"secret_id": ours[0]["secret_id"]}
    # Rotating re-sends it under the same name: never a duplicate.
    # (--rotate-secrets also re-imports the Twilio number: its credentials are a replace.)
    assert cli("apply", "--auto-approve", "--rotate-secrets").returncode == 3
    rotated = cli("apply", "--auto-approve", "--rotate-secrets", "--allow-replace")
    assert rotated.returncode == 0, rotated.stdout + rotated.stderr
    assert "-/+" in rotated.stdout and "Twilio credentials cannot be changed in place" in rotated.stdout
    with cli.server.client() as api:
        names = [s["name"] for s in api.get("/v1/convai/secrets").json()["secrets"]]
    assert names.count("telephony:workspace:Authorization") == 1
    # Dropping the header deletes the secret once unused.
    cli.write(FULL.replace('Authorization: "Bearer ${CRM_WEBHOOK_TOKEN}", ', ""))
    assert cli("apply", "--auto-approve").returncode == 0
    with cli.server.client() as api:
        names = [s["name"] for s in api.get("/v1/convai/secrets").json()["secrets"]]
    assert "telephony:workspace:Authorization" not in names
    assert cli("plan", "--detailed-exitcode").returncode == 0


def test_plan_exit_codes_and_formats(cli: Cli) -> None:
    cli.write("version: 1\nphone_numbers: {bad: {number: '12', label: x, provider: nope}}\n")
    invalid = cli("plan", "--detailed-exitcode")
    assert invalid.returncode == 1 and "Traceback" not in invalid.stderr

    cli.write(FULL)
    markdown = cli("plan", "--format", "markdown")
    assert markdown.returncode == 0
    assert markdown.stdout.startswith("<!-- telephony:plan env=") and "<details>" in markdown.stdout
    as_json = json.loads(cli("plan", "--format", "json").stdout)
    assert as_json["format_version"] == "1.3"
    creates = [c for c in as_json["resource_changes"] if c["change"]["actions"] == ["create"]]
    assert {c["address"] for c in creates} >= {"phone_number.support-line", "phone_number.sales-pbx"}
    twilio = next(c for c in creates if c["address"] == "phone_number.support-line")
    assert twilio["change"]["after_sensitive"] == {"twilio": {"credentials": True}}

    targeted = json.loads(cli("plan", "--format", "json", "--target", "phone_number.support-line").stdout)
    assert [c["address"] for c in targeted["resource_changes"]] == ["phone_number.support-line"]

    cli.write(numbers_manifest(1, prune=True, max_deletes=0))
    blocked = cli("plan", "--detailed-exitcode")
    assert blocked.returncode == 3, blocked.stdout
    assert "exceed workspace.max_deletes" in blocked.stdout


def test_prune_blocks_then_deletes_with_allow_deletes(cli: Cli) -> None:
    cli.write(numbers_manifest(2, prune=True, max_deletes=0))
    refused = cli("apply", "--auto-approve")
    assert refused.returncode == 3, refused.stdout + refused.stderr
    assert UNMANAGED in numbers(cli) and "+14156000000" not in numbers(cli)  # nothing changed
    done = cli("apply", "--auto-approve", "--allow-deletes")
    assert done.returncode == 0, done.stdout + done.stderr
    assert set(numbers(cli)) == {"+14156000000", "+14156000001"}


def test_stale_plan_file_is_refused(cli: Cli) -> None:
    cli.write(FULL)
    assert cli("apply", "--auto-approve").returncode == 0
    cli.write(FULL.replace("label: Sales direct", "label: Sales direct line"))
    assert cli("plan", "--out", "change.tfplan").returncode == 0
    plan_text = (cli.cwd / "change.tfplan").read_text()
    assert "key_fingerprint" in plan_text and "e2e-key" not in plan_text
    # Someone edits the planned number by hand: the saved plan no longer holds.
    live = numbers(cli)["+14155550102"]
    with cli.server.client() as api:
        api.patch(f"/v1/convai/phone-numbers/{live['phone_number_id']}", json={"label": "Hand edit"})
    stale = cli("apply", "change.tfplan")
    assert stale.returncode == 5, stale.stdout + stale.stderr
    assert "phone_number.sales-direct" in stale.stderr
    assert numbers(cli)["+14155550102"]["label"] == "Hand edit"  # nothing changed
    # The manifest changing after the plan is refused too.
    assert cli("plan", "--out", "fresh.tfplan").returncode == 0
    cli.write(FULL.replace("label: Sales direct", "label: Sales direct again"))
    assert cli("apply", "fresh.tfplan").returncode == 5
    # A plan file decides what is sent: flags that would change that are refused.
    assert cli("apply", "fresh.tfplan", "--rotate-secrets").returncode == 1
    # A fresh plan of an unchanged world applies.
    assert cli("plan", "--out", "ok.tfplan").returncode == 0
    applied = cli("apply", "ok.tfplan")
    assert applied.returncode == 0, applied.stdout + applied.stderr
    assert numbers(cli)["+14155550102"]["label"] == "Sales direct again"


def test_partial_apply_names_what_was_and_was_not_done(cli: Cli) -> None:
    cli.write(FULL)
    cli.server.call("PUT", "faults", {"spec": "rate=1;kinds=500;match=PATCH /v1/convai/agents/*"})
    # -v: the debug log (retries, steps) is scanned for secrets too.
    result = cli("apply", "--auto-approve", "-v", env=cli.env(TELEPHONY_RETRY_ATTEMPTS="2"))
    assert result.returncode == 4, result.stdout + result.stderr
    assert "retry:" in result.stderr
    assert "Failed: agent.support" in result.stdout
    assert "Applied: phone_number.support-line (create)" in result.stdout
    assert "PATCH /v1/convai/agents/agent_3701k3ttaq12ewp8b7qv5rfyszkz failed (HTTP 500)" in result.stdout
    assert "Apply report: " in result.stdout and "applied" in result.stdout
    assert "Traceback" not in result.stderr
    cli.server.call("DELETE", "faults")
    assert cli("apply", "--auto-approve").returncode == 0  # re-running converges
    assert cli("plan", "--detailed-exitcode").returncode == 0


def test_readback_mismatch_exits_6(cli: Cli) -> None:
    cli.write(FULL)
    cli.server.call(
        "PUT", "drop-fields", {"paths": ["conversation_config.agent.dynamic_variables.dynamic_variable_placeholders"]}
    )
    result = cli("apply", "--auto-approve")
    assert result.returncode == 6, result.stdout + result.stderr
    assert "Apply report: 5 applied, 2 read-back mismatches, 0 failed, 0 skipped." in result.stdout
    # The plan above the report names dynamic_variables too: check the mismatch lines themselves.
    mismatches = {
        line.strip().removeprefix("Read-back mismatch: ").split(" ")[0]: line
        for line in result.stdout.splitlines()
        if line.strip().startswith("Read-back mismatch: ")
    }
    assert set(mismatches) == {"agent.support", "agent.sales"}, result.stdout
    for line in mismatches.values():
        assert "the API did not keep what was sent: dynamic_variables" in line, line


def test_apply_without_tty_or_approval_is_an_error(cli: Cli) -> None:
    cli.write(FULL)
    result = cli("apply", input="")
    assert result.returncode == 1
    assert "--auto-approve" in result.stderr
    assert "+14155550100" not in numbers(cli)


def test_replace_is_refused_without_allow_replace(cli: Cli) -> None:
    cli.write(FULL)
    assert cli("apply", "--auto-approve").returncode == 0
    old_id = numbers(cli)["+14155550102"]["phone_number_id"]
    switched = FULL.replace(
        "    provider: sip_trunk\n    sip_trunk: main-pbx\n    agent: sales\n",
        '    provider: twilio\n    twilio: {account_sid: "${TWILIO_ACCOUNT_SID}", auth_token: "${TWILIO_AUTH_TOKEN}"}\n'
        "    agent: sales\n",
    )
    cli.write(switched)
    plan = cli("plan", "--detailed-exitcode")
    assert plan.returncode == 3 and "-/+" in plan.stdout and "provider cannot change" in plan.stdout
    assert cli("apply", "--auto-approve").returncode == 3
    done = cli("apply", "--auto-approve", "--allow-replace")
    assert done.returncode == 0, done.stdout + done.stderr
    new = numbers(cli)["+14155550102"]
    assert new["provider"] == "twilio" and new["phone_number_id"] != old_id
    assert new["assigned_agent"]["agent_id"] == SALES


def test_api_errors_name_the_call(cli: Cli) -> None:
    cli.write(FULL)
    result = cli("drift", env=cli.env(ELEVENLABS_API_KEY="wrong-key"))
    assert result.returncode == 1
    assert "GET /v1/convai/" in result.stderr and "HTTP 401" in result.stderr
    assert "check ELEVENLABS_API_KEY" in result.stderr and "wrong-key" not in result.stdout + result.stderr
    assert "Traceback" not in result.stderr


def test_an_agent_missing_from_the_workspace_is_one_line_naming_what_to_check(cli: Cli) -> None:
    cli.write(FULL.replace(SALES, "agent_9999k3ttaq12ewp8b7qv5rfysabc"))
    result = cli("plan")
    assert result.returncode == 1
    [line] = [x for x in result.stderr.splitlines() if "warning:" not in x]
    assert line.startswith("Error: agent 'sales' (agent_9999k3ttaq12ewp8b7qv5rfysabc) does not exist")
    assert "ELEVENLABS_API_KEY" in line


def test_a_plan_file_never_sends_what_the_reviewed_manifest_does_not_produce(cli: Cli) -> None:
    cli.write(FULL)
    assert cli("apply", "--auto-approve").returncode == 0
    cli.write(FULL.replace("label: Sales direct", "label: Reviewed label"))
    assert cli("plan", "--out", "reviewed.tfplan").returncode == 0
    data = json.loads((cli.cwd / "reviewed.tfplan").read_text())
    # A careful forger edits the request and the view, and recomputes the checksum.
    text = json.dumps(data).replace("Reviewed label", "Forged label")
    forged = json.loads(text)
    forged["plan"]["checksum"] = checksum_of(forged["plan"]["changes"])
    (cli.cwd / "forged.tfplan").write_text(json.dumps(forged))
    refused = cli("apply", "forged.tfplan")
    assert refused.returncode == 5, refused.stdout + refused.stderr
    assert "phone_number.sales-direct" in refused.stderr or "differ" in refused.stderr
    assert numbers(cli)["+14155550102"]["label"] == "Sales direct"  # nothing sent
    # The manifest is the one named on apply's own command line, never the path in the file.
    (cli.cwd / "other.yaml").write_text((cli.cwd / "telephony.yaml").read_text())
    assert cli("plan", "-f", "other.yaml", "--out", "other.tfplan").returncode == 0
    cli.write(FULL.replace("label: Sales direct", "label: Something else"))
    assert cli("apply", "other.tfplan").returncode == 5  # telephony.yaml differs from what was reviewed
    assert cli("apply", "-f", "other.yaml", "other.tfplan").returncode == 0
    assert numbers(cli)["+14155550102"]["label"] == "Reviewed label"


def checksum_of(changes: Any) -> str:
    """The checksum the tool would compute for these (edited) changes."""

    def plain(value: Any) -> Any:
        if isinstance(value, dict):
            return value["$marker"] if set(value) == {"$marker"} else {k: plain(v) for k, v in value.items()}
        return [plain(v) for v in value] if isinstance(value, list) else value

    return Plan(changes=list(TypeAdapter(list[AnyChange]).validate_python(plain(changes)))).checksum()
