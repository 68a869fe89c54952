"""`telephony import` and `init` against the emulator as a real server, populated through the official SDK.

The round trip: a workspace set up by hand (the `elevenlabs` SDK, not this tool), imported, then
`plan --detailed-exitcode` exits 0 with the suggested `${VAR}`s set.
"""

from __future__ import annotations

from typing import Any

import pytest
import yaml
from elevenlabs.conversational_ai.phone_numbers.types import (
    PhoneNumbersCreateRequestBody_SipTrunk,
    PhoneNumbersCreateRequestBody_Twilio,
)

from tests.e2e.conftest import SALES, SUPPORT, Cli, EmulatorServer

pytestmark = pytest.mark.e2e

HOOK_SECRET = "crm-token-value-Q7"
TOOL_SECRET = "tool-secret-value-M3"


def rule(destination: dict[str, str], condition: str, kind: str = "conference", **extra: Any) -> dict[str, Any]:
    return {"transfer_destination": destination, "condition": condition, "transfer_type": kind, **extra}


def populate(server: EmulatorServer) -> None:
    """Both providers, shared and distinct trunks, every transfer kind, both webhook kinds, secrets."""
    sdk = server.sdk()
    numbers = sdk.conversational_ai.phone_numbers
    for phone, label in (("+14155550100", "Main line"), ("+14155550101", "Sales line")):
        pid = numbers.create(
            request=PhoneNumbersCreateRequestBody_Twilio(
                phone_number=phone, label=label, sid="AC" + "1" * 32, token="tw-by-hand"
            )
        ).phone_number_id
        numbers.update(pid, agent_id=SUPPORT if phone.endswith("100") else SALES)
    shared = {
        "address": "pbx.example.com:5061",
        "transport": "tls",
        "media_encryption": "required",
        "credentials": {"username": "el", "password": "sip-by-hand"},
        "enabled_codecs": ["PCMU/8000"],
    }
    for phone in ("+442079460750", "+442079460751", "+442079460752"):
        outbound = shared if not phone.endswith("2") else {"address": "pbx.example.com", "transport": "tcp"}
        pid = numbers.create(
            request=PhoneNumbersCreateRequestBody_SipTrunk(
                phone_number=phone,
                label=f"Office {phone[-1]}",
                inbound_trunk_config={"allowed_addresses": ["198.51.100.0/24"], "media_encryption": "allowed"},
                outbound_trunk_config=outbound,
            )
        ).phone_number_id
        if phone.endswith("0"):
            numbers.update(pid, agent_id=SUPPORT)
    secrets = sdk.conversational_ai.secrets
    crm = secrets.create(name="crm-token", value=HOOK_SECRET).secret_id
    tool = secrets.create(name=f"telephony:{SALES}:X-Api-Key", value=TOOL_SECRET).secret_id
    sdk.conversational_ai.settings.update(
        conversation_initiation_client_data_webhook={
            "url": "https://crm.example.com/pre-call",
            "request_headers": {"Authorization": {"secret_id": crm}, "X-Source": "elevenlabs"},
        }
    )
    transfers = [
        rule({"type": "phone", "phone_number": "+14155550199"}, "The caller asks for a human"),
        rule({"type": "sip_uri", "sip_uri": "sip:desk@pbx.example.com"}, "Front desk", "sip_refer"),
        rule({"type": "phone_dynamic_variable", "phone_number": "agent_desk"}, "Account manager"),
        rule({"type": "sip_uri_dynamic_variable", "sip_uri": "desk_uri"}, "A desk by name", "sip_refer"),
        rule({"type": "phone", "phone_number": "+14155550198"}, "Fraud", "blind"),
    ]
    tool_config = {
        "type": "system",
        "name": "transfer_to_number",
        "description": "Transfer when needed.",
        "params": {"system_tool_type": "transfer_to_number", "transfers": transfers},
    }
    agents = sdk.conversational_ai.agents
    agents.update(
        SUPPORT,
        conversation_config={
            "agent": {
                "dynamic_variables": {"dynamic_variable_placeholders": {"agent_desk": "+14155550150", "vip": True}},
                "prompt": {"built_in_tools": {"transfer_to_number": tool_config}},
            }
        },
        platform_settings={
            "overrides": {
                "enable_conversation_initiation_client_data_from_webhook": True,
                "conversation_config_override": {"agent": {"first_message": True, "language": True}},
            }
        },
    )
    agents.update(
        SALES,
        platform_settings={
            "overrides": {"enable_conversation_initiation_client_data_from_webhook": True},
            "workspace_overrides": {
                "conversation_initiation_client_data_webhook": {
                    "url": "https://routing.example.com/pre-call",
                    "request_headers": {"X-Api-Key": {"secret_id": tool}, "Authorization": {"secret_id": crm}},
                }
            },
        },
    )


def variables(text: str) -> dict[str, str]:
    """The `${VAR}`s the import lists at the end, each set to a dummy value."""
    names = [line.split(":")[0].strip("# ").strip() for line in text.splitlines() if line.startswith("#   ")]
    return {name: "AC" + "5e" * 16 if name.endswith("_SID") else "dummy-value" for name in names if name.isupper()}


def test_sdk_populated_workspace_round_trips(cli: Cli) -> None:
    populate(cli.server)
    result = cli("import", "--out", "telephony.yaml")
    assert result.returncode == 0, result.stderr
    path = cli.cwd / "telephony.yaml"
    cli.written.add(path)
    text = path.read_text()
    assert text.startswith("# yaml-language-server: $schema=")
    data = yaml.safe_load(text)
    assert set(data["sip_trunks"]) == {"pbx-example-com", "pbx-example-com-2"}
    assert data["pre_call_webhook"]["headers"]["Authorization"] == {"secret": "crm-token"}
    sales = next(a for a in data["agents"].values() if a["id"] == SALES)
    assert sales["pre_call_webhook"]["headers"]["X-Api-Key"].startswith("${")
    support = next(a for a in data["agents"].values() if a["id"] == SUPPORT)
    assert len(support["transfers"]) == 5
    assert {n["provider"] for n in data["phone_numbers"].values()} == {"twilio", "sip_trunk"}
    env = variables(text)
    assert {"TWILIO_ACCOUNT_SID", "PBX_EXAMPLE_COM_OUTBOUND_PASSWORD"} <= set(env)
    valid = cli("validate", "-f", "telephony.yaml", env=cli.env(**env))
    assert valid.returncode == 0, valid.stdout + valid.stderr
    plan = cli("plan", "--detailed-exitcode", env=cli.env(**env))
    assert plan.returncode == 0, plan.stdout + plan.stderr
    assert "No changes." in plan.stdout


def test_import_refuses_to_overwrite_without_force(cli: Cli) -> None:
    existing = cli.write("version: 1\n")
    result = cli("import", "--out", "telephony.yaml")
    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [f"Error: {existing.name} exists; use --force to overwrite it."]
    assert existing.read_text() == "version: 1\n"
    forced = cli("import", "--out", "telephony.yaml", "--force")
    assert forced.returncode == 0, forced.stderr
    assert existing.read_text().startswith("# yaml-language-server:")


def test_import_to_stdout_and_all_agents(cli: Cli) -> None:
    result = cli("import", "--agents", "all")
    assert result.returncode == 0, result.stderr
    assert {a["id"] for a in yaml.safe_load(result.stdout)["agents"].values()} == {SUPPORT, SALES}


def test_secret_by_name_round_trip_and_missing_secret(cli: Cli) -> None:
    sdk = cli.server.sdk()
    secret_id = sdk.conversational_ai.secrets.create(name="crm-token", value=HOOK_SECRET).secret_id
    cli.write(
        "version: 1\npre_call_webhook:\n  url: https://crm.example.com/pre-call\n"
        "  headers:\n    Authorization: {secret: crm-token}\n"
    )
    applied = cli("apply", "--auto-approve")
    assert applied.returncode == 0, applied.stdout + applied.stderr
    plan = cli("plan", "--detailed-exitcode")
    assert plan.returncode == 0, plan.stdout + plan.stderr
    secrets = sdk.conversational_ai.secrets.list().secrets
    assert [s.name for s in secrets] == ["crm-token"]  # never created, rotated or deleted by the tool
    # Removed by hand (the API refuses to delete a secret in use: the webhook goes first).
    sdk.conversational_ai.settings.update(conversation_initiation_client_data_webhook=None)
    sdk.conversational_ai.secrets.delete(secret_id)
    failed = cli("plan")
    assert failed.returncode == 1
    assert "secret 'crm-token', which does not exist in the workspace" in failed.stderr
    assert len(failed.stderr.strip().splitlines()) == 1


def test_init_scaffolds_and_appends_gitignore(cli: Cli) -> None:
    (cli.cwd / ".gitignore").write_text("node_modules/\n.telephony/\n")
    result = cli("init")
    assert result.returncode == 0, result.stderr
    assert cli("validate").returncode == 0
    ignored = (cli.cwd / ".gitignore").read_text().splitlines()
    assert ignored.count(".telephony/") == 1 and "*.tfplan" in ignored
    again = cli("init")
    assert again.returncode == 1 and "exists" in again.stderr
    imported = cli("init", "--import", "--force")
    assert imported.returncode == 0, imported.stderr
    assert (cli.cwd / ".gitignore").read_text().splitlines() == ignored  # not duplicated
