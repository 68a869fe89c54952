"""What automation reads (docs/outputs.md), end to end against the emulator as a real server: the
secrets plan lists, --require-secrets, drift --fail-on-unmanaged, apply --format json, sandbox and
live plan files kept apart, and an environment's own API key variable."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest

from tests.e2e.conftest import API_KEY, SECRETS, UNMANAGED, Cli
from tests.e2e.manifests import FULL, numbers_manifest

pytestmark = pytest.mark.e2e
ROOT = Path(__file__).resolve().parents[2]
NEEDED = sorted(SECRETS)  # FULL creates every resource, so apply sends every ${VAR} it references


def schema(kind: str) -> jsonschema.Draft202012Validator:
    return jsonschema.Draft202012Validator(json.loads((ROOT / "schemas" / f"{kind}.schema.json").read_text()))


def secrets_section(markdown: str) -> list[str]:
    """The lines of the comment's **Secrets:** section."""
    lines = markdown.splitlines()
    if "**Secrets:**" not in lines:
        return []
    start = lines.index("**Secrets:**") + 1
    return lines[start : lines.index("", start)]


def without(cli: Cli, *names: str) -> dict[str, str]:
    env = cli.env()
    for name in names:
        env.pop(name)
    return env


def test_plan_lists_the_secrets_apply_needs_in_every_format_and_show_reproduces_it(cli: Cli) -> None:
    cli.write(FULL)
    env = without(cli, "TWILIO_AUTH_TOKEN", "PBX_SIP_PASSWORD")
    printed = {}
    for fmt in ("text", "json", "markdown"):
        result = cli("plan", "--format", fmt, "--out", f"p-{fmt}.plan", env=env)
        assert result.returncode == 0, result.stderr
        # The listing replaces the validation warnings about unset variables.
        assert "is not set" not in result.stderr, result.stderr
        printed[fmt] = result.stdout
        shown = cli("show", f"p-{fmt}.plan", "--format", fmt)
        assert shown.returncode == 0
        if fmt == "markdown":  # the comment's manifest warnings are not kept in plan files: compare the rest
            assert secrets_section(shown.stdout) == secrets_section(printed[fmt]) != []
        else:
            assert shown.stdout == printed[fmt]
    data = json.loads(printed["json"])
    schema("plan-output").validate(data)
    assert data["format_version"] == "1.3"
    assert data["secrets"] == {"needed": NEEDED, "unset": ["PBX_SIP_PASSWORD", "TWILIO_AUTH_TOKEN"]}
    assert f"Secrets apply needs: {', '.join(NEEDED)}." in printed["text"]
    assert "Unset here: PBX_SIP_PASSWORD, TWILIO_AUTH_TOKEN (apply refuses until they are set)." in printed["text"]
    assert "- Unset here: PBX_SIP_PASSWORD, TWILIO_AUTH_TOKEN" in printed["markdown"]
    # apply refuses for exactly the variables plan listed: one truth.
    refused = cli("apply", "--auto-approve", env=env)
    assert refused.returncode == 1
    assert "environment variable(s) not set: PBX_SIP_PASSWORD, TWILIO_AUTH_TOKEN;" in refused.stderr

    # Once applied, the write-only credentials are not sent again: nothing is needed.
    assert cli("apply", "--auto-approve").returncode == 0
    quiet = json.loads(cli("plan", "--format", "json", env=without(cli, *SECRETS)).stdout)
    assert quiet["secrets"] == {"needed": [], "unset": []}


def test_require_secrets_fails_after_printing_the_plan_naming_the_variables(cli: Cli) -> None:
    cli.write(FULL)
    result = cli("plan", "--require-secrets", "--detailed-exitcode", env=without(cli, "CRM_WEBHOOK_TOKEN"))
    assert result.returncode == 1
    assert "Plan: " in result.stdout  # the plan is printed first
    assert result.stderr.splitlines()[-1] == "Error: --require-secrets: apply needs CRM_WEBHOOK_TOKEN, not set here."
    assert "not set;" not in result.stderr  # the listing replaced the unset-variable warnings
    ok = cli("plan", "--require-secrets", "--detailed-exitcode")
    assert ok.returncode == 2, ok.stderr  # every one set: the usual exit codes
    # The sandbox sends dummy values: listed as needed, never unset, never a failure.
    sandbox = cli("plan", "--sandbox", "--require-secrets", "--format", "json", env=without(cli, *SECRETS))
    assert sandbox.returncode == 0, sandbox.stderr
    assert json.loads(sandbox.stdout)["secrets"] == {"needed": NEEDED, "unset": []}


def test_drift_never_warns_about_secrets_and_fail_on_unmanaged(cli: Cli) -> None:
    cli.write(FULL)
    assert cli("apply", "--auto-approve").returncode == 0
    drift = cli("drift", env=without(cli, *SECRETS))
    assert drift.returncode == 0, drift.stdout + drift.stderr  # the seeded unmanaged number: listed only
    assert UNMANAGED in drift.stdout and "not set" not in drift.stderr and "$" not in drift.stderr
    strict = cli("drift", "--fail-on-unmanaged", "--format", "json", env=without(cli, *SECRETS))
    assert strict.returncode == 2 and "not set" not in strict.stderr
    data = json.loads(strict.stdout)
    schema("plan-output").validate(data)
    assert data["has_changes"] is False and [u["number"] for u in data["unmanaged"]] == [UNMANAGED]
    assert "secrets" not in data
    with cli.server.client() as api:
        stray = next(n for n in api.get("/v1/convai/phone-numbers").json() if n["phone_number"] == UNMANAGED)
        api.delete(f"/v1/convai/phone-numbers/{stray['phone_number_id']}")
    assert cli("drift", "--fail-on-unmanaged").returncode == 0


def test_apply_json_lists_every_step_and_validates(cli: Cli) -> None:
    cli.write(numbers_manifest(60))
    result = cli("apply", "--auto-approve", "--format", "json")
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)  # stdout is the JSON document alone
    schema("apply-output").validate(data)
    numbers = [s for s in data["steps"] if s["address"].startswith("phone_number.")]
    assert len({s["address"] for s in numbers}) == 60  # the text report stops listing at 50
    assert all(s["outcome"] == "applied" and s["error"] is None for s in data["steps"])
    assert data["summary"]["applied"] == len(data["steps"]) and data["exit_code"] == 0
    assert "telephony will perform the following actions" in result.stderr  # the plan: on stderr

    # A failing step: its error, the summary and the exit code (4, partial).
    cli.write(FULL)
    cli.server.call("PUT", "faults", {"spec": "rate=1;kinds=500;match=PATCH /v1/convai/agents/*"})
    partial = cli("apply", "--auto-approve", "--format", "json", env=cli.env(TELEPHONY_RETRY_ATTEMPTS="1"))
    assert partial.returncode == 4
    data = json.loads(partial.stdout)
    schema("apply-output").validate(data)
    failed = {s["address"]: s for s in data["steps"] if s["outcome"] == "failed"}
    assert set(failed) == {"agent.support", "agent.sales"}
    assert "failed (HTTP 500)" in failed["agent.support"]["error"]
    assert data["exit_code"] == 4 and data["summary"]["failed"] == 2 and data["changed_anything"] is True


def test_apply_json_when_apply_refuses_before_any_write(cli: Cli) -> None:
    cli.write(numbers_manifest(1, prune=True, max_deletes=0))
    refused = cli("apply", "--auto-approve", "--format", "json")
    assert refused.returncode == 3
    data = json.loads(refused.stdout)
    schema("apply-output").validate(data)
    assert data["steps"] == [] and data["exit_code"] == 3 and "safety rule" in data["error"]
    assert refused.stderr.strip().endswith("Error: apply refused by a safety rule; nothing was changed.")


def test_a_sandbox_plan_is_never_applied_live_nor_the_reverse(cli: Cli) -> None:
    cli.write(FULL)
    assert cli("plan", "--sandbox", "--out", "sandbox.plan").returncode == 0
    live = cli("apply", "sandbox.plan")
    assert live.returncode == 5
    assert live.stderr == (
        "Error: sandbox.plan was made with --sandbox; apply it with --sandbox, or make a new plan without it.\n"
    )
    assert cli("plan", "--out", "live.plan").returncode == 0
    sandboxed = cli("apply", "live.plan", "--sandbox")
    assert sandboxed.returncode == 5
    assert sandboxed.stderr == (
        f"Error: live.plan was made against {cli.server.url}, not the sandbox; apply it without --sandbox.\n"
    )
    assert cli("apply", "sandbox.plan", "--sandbox").returncode == 0


PRODUCTION = FULL.replace("version: 1\n", "version: 1\nenvironments:\n  production: {api_key_env: KEY_PROD}\n", 1)


def test_an_environment_reads_its_own_api_key_variable_only(cli: Cli) -> None:
    assert "environments:" in PRODUCTION
    cli.write(PRODUCTION)
    # Never ELEVENLABS_API_KEY for production, even when that one is set and valid.
    missing = cli("plan", "--env", "production")
    assert missing.returncode == 1 and len(missing.stderr.splitlines()) == 1
    assert "KEY_PROD is not set or empty: environment 'production' reads its API key from it" in missing.stderr
    prod = cli.env(KEY_PROD=API_KEY, ELEVENLABS_API_KEY="not-the-production-key")
    planned = cli("plan", "--env", "production", "--out", "prod.plan", env=prod)
    assert planned.returncode == 0, planned.stderr
    # The plan file records the environment, so apply reads production's key again.
    applied = cli("apply", "prod.plan", env=prod)
    assert applied.returncode == 0, applied.stdout + applied.stderr
    # Without --env the usual variable (here a wrong key) is used: the API refuses it.
    assert cli("plan", env=prod).returncode == 1
    # A name that is not a variable name is a located manifest error.
    cli.write(PRODUCTION.replace("api_key_env: KEY_PROD", "api_key_env: 'KEY-PROD'"))
    bad = cli("validate")
    assert bad.returncode == 1 and "telephony.yaml:3:" in bad.stdout + bad.stderr
    assert "api_key_env must name an environment variable" in bad.stdout + bad.stderr
