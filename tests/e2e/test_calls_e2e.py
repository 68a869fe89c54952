"""`telephony call` and `telephony batch` end to end: the CLI as a subprocess, the emulator as a server.

Every error case is checked to have sent no call or batch request (the emulator's request log).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.conftest import SALES, SUPPORT, Cli

pytestmark = pytest.mark.e2e

MANIFEST = f"""\
version: 1
workspace: {{prune: false, max_deletes: 0}}
agents:
  support:
    id: {SUPPORT}
    dynamic_variables: {{customer_name: there}}
    overrides: [language]
    transfers:
      - to: "+14155550199"
        condition: The caller asks for a human
        handoff_message: "Customer needs help with order {{{{order_id}}}}."
  sales:
    id: {SALES}
sip_trunks:
  pbx:
    outbound: {{address: pbx.example.com, transport: tls}}
  inbound-only:
    inbound: {{allowed_addresses: [203.0.113.0/24]}}
phone_numbers:
  support-line:
    number: "+14155550100"
    label: Support
    provider: twilio
    twilio: {{account_sid: "${{TWILIO_ACCOUNT_SID}}", auth_token: "${{TWILIO_AUTH_TOKEN}}"}}
    agent: support
  caller-id:
    number: "+14155550102"
    label: Caller ID
    provider: twilio
    twilio: {{account_sid: "${{TWILIO_ACCOUNT_SID}}", auth_token: "${{TWILIO_AUTH_TOKEN}}", caller_id_only: true}}
  sales-pbx:
    number: "+14155550101"
    label: Sales PBX
    provider: sip_trunk
    sip_trunk: pbx
    agent: sales
  lobby:
    number: "+14155550103"
    label: Lobby
    provider: sip_trunk
    sip_trunk: inbound-only
    agent: support
"""
NOT_APPLIED = """\
  new-line:
    number: "+14155550104"
    label: New
    provider: sip_trunk
    sip_trunk: pbx
    agent: sales
"""
CALL_PATHS = ("/v1/convai/twilio/outbound-call", "/v1/convai/sip-trunk/outbound-call")
SUBMIT = "/v1/convai/batch-calling/submit"


@pytest.fixture
def applied(cli: Cli) -> Cli:
    cli.write(MANIFEST)
    result = cli("apply", "--auto-approve")
    assert result.returncode == 0, result.stderr
    cli.write(MANIFEST + NOT_APPLIED)  # declared, never imported
    cli.server.clear_requests()
    return cli


def posts(cli: Cli, *paths: str) -> list[dict[str, Any]]:
    return [r for r in cli.server.requests() if r["method"] == "POST" and r["path"] in paths]


def stderr_lines(result: Any) -> list[str]:
    """stderr without the manifest's own warnings (validate reports `{{order_id}}` as not provided)."""
    return [line for line in result.stderr.strip().splitlines() if not line.startswith("telephony.yaml:")]


def one_error_line(result: Any) -> str:
    assert result.returncode == 1, (result.stdout, result.stderr)
    lines = stderr_lines(result)
    assert len(lines) == 1 and lines[0].startswith("Error: "), result.stderr
    assert "Traceback" not in result.stderr
    return lines[0]


def test_calls_from_a_twilio_number_a_caller_id_and_a_sip_trunk(applied: Cli) -> None:
    cli = applied
    result = cli("call", "support-line", "+14155551234", "--var", "order_id=42", "--var", "customer_name=Ann")
    assert result.returncode == 0, result.stderr
    assert "conversation_id: conv_" in result.stdout and "call_sid: CA" in result.stdout

    result = cli("call", "caller-id", "+14155551234", "--agent", "sales", "--format", "json")
    assert result.returncode == 0, result.stderr
    twilio = json.loads(result.stdout)
    assert twilio["provider"] == "twilio" and twilio["call_sid"].startswith("CA")
    assert twilio["agent"] == {"alias": "sales", "agent_id": SALES}

    result = cli("call", "sales-pbx", "+14155551234", "--format", "json")
    assert result.returncode == 0, result.stderr
    sip = json.loads(result.stdout)
    assert sip["conversation_id"].startswith("conv_") and sip["sip_call_id"] and sip["call_sid"] is None

    first, second = posts(cli, CALL_PATHS[0])
    numbers = {
        n["phone_number"]: n["phone_number_id"] for n in cli.server.client().get("/v1/convai/phone-numbers").json()
    }
    assert first["body"] == {
        "agent_id": SUPPORT,
        "agent_phone_number_id": numbers["+14155550100"],
        "to_number": "+14155551234",
        "conversation_initiation_client_data": {"dynamic_variables": {"order_id": "42", "customer_name": "Ann"}},
    }
    assert second["body"]["agent_id"] == SALES and "conversation_initiation_client_data" not in second["body"]
    (trunk,) = posts(cli, CALL_PATHS[1])
    assert trunk["body"]["agent_phone_number_id"] == numbers["+14155550101"]


CALL_ERRORS = [
    (("support-line", "+1 415-555-1234"), "destination '+1 415-555-1234' is not an E.164 number; write '+14155551234'"),
    (("support-lin", "+14155551234"), "phone number 'support-lin' is not declared in the manifest; did you mean"),
    (("new-line", "+14155551234"), "is not imported into the workspace yet; run `telephony apply` first"),
    (("lobby", "+14155551234"), "its SIP trunk 'inbound-only' has no outbound: block"),
    (("caller-id", "+14155551234"), "has no agent assigned; name one with --agent ALIAS"),
    (("support-line", "+14155551234", "--agent", "nobody"), "agent 'nobody' is not declared in the manifest"),
    (("support-line", "+14155551234", "--var", "system__x=1"), "the system__ prefix is reserved"),
]


def test_call_errors_are_one_line_and_send_no_call(applied: Cli) -> None:
    for args, message in CALL_ERRORS:
        line = one_error_line(applied("call", *args))
        assert message in line, (args, line)
    assert posts(applied, *CALL_PATHS) == []


def write_csv(cli: Cli, text: str, name: str = "people.csv") -> Path:
    path = cli.cwd / name
    path.write_text(text)
    return path


def status(cli: Cli, batch_id: str) -> dict[str, Any]:
    result = cli("batch", "status", batch_id, "--recipients", "--format", "json")
    assert result.returncode == 0, result.stderr
    data: dict[str, Any] = json.loads(result.stdout)
    return data


def test_a_batch_from_submission_to_completion_and_a_retry(applied: Cli) -> None:
    cli = applied
    write_csv(
        cli,
        "phone_number,order_id,customer_name,language\n"
        "+14155560001,A1,Ann,es\n"
        "+14155560009,A2,,\n"  # ends in 9: the emulator fails the first call
        "+14155560008,A3,Cy,en\n",  # ends in 8: voicemail
    )
    dry = cli("batch", "submit", "support-line", "--csv", "people.csv", "--name", "reminders", "--dry-run")
    assert dry.returncode == 0, dry.stderr
    assert "Dry run: nothing was sent." in dry.stdout and "line 3: +14155560009  order_id=A2" in dry.stdout
    assert posts(cli, SUBMIT) == []

    result = cli("batch", "submit", "support-line", "--csv", "people.csv", "--name", "reminders", "--format", "json")
    assert result.returncode == 0, result.stderr
    submitted = json.loads(result.stdout)
    batch_id = submitted["id"]
    assert batch_id.startswith("btcal_") and submitted["total_calls_scheduled"] == 3 and submitted["warnings"] == []
    (sent,) = posts(cli, SUBMIT)
    assert sent["body"]["call_name"] == "reminders" and sent["body"]["agent_id"] == SUPPORT
    assert sent["body"]["recipients"][0] == {
        "phone_number": "+14155560001",
        "conversation_initiation_client_data": {
            "dynamic_variables": {"order_id": "A1", "customer_name": "Ann"},
            "conversation_config_override": {"agent": {"language": "es"}},
        },
    }
    assert sent["body"]["recipients"][1]["conversation_initiation_client_data"] == {
        "dynamic_variables": {"order_id": "A2"}  # the empty name is left to the agent's default
    }

    assert status(cli, batch_id)["status"] in ("pending", "in_progress")
    cli.server.advance_clock(61)
    done = status(cli, batch_id)
    assert done["status"] == "completed"
    assert done["recipient_counts"] == {"completed": 1, "failed": 1, "voicemail": 1}
    assert {r["phone_number"]: r["status"] for r in done["recipients"]}["+14155560009"] == "failed"

    text = cli("batch", "status", batch_id, "--recipients")
    assert text.returncode == 0 and "recipients: completed 1, failed 1, voicemail 1" in text.stdout
    assert "+14155560008  voicemail" in text.stdout

    retried = cli("batch", "retry", batch_id)
    assert retried.returncode == 0 and f"Retrying batch {batch_id}" in retried.stdout, retried.stderr
    cli.server.advance_clock(61)
    again = status(cli, batch_id)
    assert again["retry_count"] == 1 and again["recipient_counts"] == {"completed": 3}

    listed = cli("batch", "list", "--format", "json")
    assert [b["id"] for b in json.loads(listed.stdout)["batches"]] == [batch_id]
    assert batch_id in cli("batch", "list").stdout


def test_a_scheduled_batch_is_cancelled(applied: Cli) -> None:
    cli = applied
    write_csv(cli, "phone_number,order_id\n+14155560001,A1\n+14155560002,A2\n")
    at = (datetime.now(UTC) + timedelta(hours=1)).replace(microsecond=0).isoformat()
    result = cli("batch", "submit", "sales-pbx", "--csv", "people.csv", "--at", at, "--agent", "support")
    assert result.returncode == 0, result.stderr
    batch_id = result.stdout.split()[2]
    (sent,) = posts(cli, SUBMIT)
    assert sent["body"]["scheduled_time_unix"] == int(datetime.fromisoformat(at).timestamp())
    assert status(cli, batch_id)["status"] == "pending"
    cancelled = cli("batch", "cancel", batch_id)
    assert cancelled.returncode == 0 and "status cancelled" in cancelled.stdout, cancelled.stderr
    final = status(cli, batch_id)
    assert final["status"] == "cancelled" and final["recipient_counts"] == {"cancelled": 2}


def test_a_csv_with_bad_rows_sends_nothing(applied: Cli) -> None:
    cli = applied
    write_csv(
        cli,
        "phone_number,order_id,first_message,nickname\n"
        "+14155560001,A1,,x\n"
        "4155560002,A2,,\n"
        "+14155560001,A3,,\n"
        "+14155560003,,,\n",
    )
    result = cli("batch", "submit", "support-line", "--csv", "people.csv")
    assert result.returncode == 1
    assert stderr_lines(result) == [
        "people.csv:1:23: error: column 'first_message': the agent does not allow overriding first_message "
        "(add it to the agent's overrides: in the manifest)",
        "people.csv:1:37: warning: column 'nickname' is not used by the agent's placeholders or messages "
        "(it is sent anyway)",
        "people.csv:3:1: error: '4155560002' is not an E.164 number: it needs '+' and the country code "
        "(e.g. '+14155550100')",
        "people.csv:4:1: error: duplicate phone_number +14155560001 (first on line 2)",
        "people.csv:5:14: error: empty order_id: the agent uses {{order_id}} and has no default",
        "Error: people.csv: 4 error(s); nothing was sent.",
    ]
    assert posts(cli, SUBMIT) == []
    assert "Traceback" not in result.stderr


def test_batch_errors_are_one_line(applied: Cli) -> None:
    cli = applied
    write_csv(cli, "phone_number\n+14155560001\n")
    for args, message in [
        (("submit", "lobby", "--csv", "people.csv"), "has no outbound: block"),
        (("submit", "support-line", "--csv", "missing.csv"), "missing.csv: error: cannot read the file"),
        (("submit", "support-line", "--csv", "people.csv", "--at", "tomorrow"), "is not an ISO-8601 time"),
        (("submit", "support-line", "--csv", "people.csv", "--at", "2030-01-01T09:00:00"), "has no UTC offset"),
        (("status", "btcal_nope"), "HTTP 404"),
        (("cancel", "btcal_nope"), "HTTP 404"),
    ]:
        result = cli("batch", *args)
        assert result.returncode == 1, (args, result.stdout, result.stderr)
        assert message in result.stderr and "Traceback" not in result.stderr, (args, result.stderr)
        assert stderr_lines(result)[-1].startswith("Error: ")
    assert posts(cli, SUBMIT) == []
