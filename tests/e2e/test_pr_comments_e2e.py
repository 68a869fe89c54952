"""Pull-request comments end to end: the CLI's markdown names its kind, env, manifest and CI run,
carries the manifest's warnings, and shows a trunk edit once however many numbers it lands on."""

from __future__ import annotations

import json

import pytest

from tests.e2e.conftest import Cli

pytestmark = pytest.mark.e2e

MANIFEST = """\
version: 1
environments:
  prod: {vars: {pbx_host: pbx.example.com}}
sip_trunks:
  main-pbx:
    outbound:
      address: "${{ vars.pbx_host }}"
      transport: tls
      credentials: {username: elevenlabs, password: "${PBX_SIP_PASSWORD}"}
    inbound:
      allowed_addresses: [203.0.113.0/24]
      credentials: {username: pbx, password: "${PBX_NOT_SET_ANYWHERE}"}
phone_numbers:
"""
NUMBERS = [f"+1415555{i:04d}" for i in range(12)]
GITHUB = {
    "GITHUB_SHA": "8f14e45fceea167a5a36dedd4bea2543c4a0f3b2",
    "GITHUB_SERVER_URL": "https://github.com",
    "GITHUB_REPOSITORY": "acme/voice",
    "GITHUB_RUN_ID": "4242",
}


def manifest(host: str = "pbx.example.com") -> str:
    rows = [
        f'  n{i:02d}: {{number: "{n}", label: Line {i}, provider: sip_trunk, sip_trunk: main-pbx}}'
        for i, n in enumerate(NUMBERS)
    ]
    return MANIFEST.replace("pbx_host: pbx.example.com", f"pbx_host: {host}") + "\n".join(rows) + "\n"


def outside_ci(cli: Cli, **extra: str) -> dict[str, str]:
    """The CLI's environment without this machine's own CI variables (the test may run in CI)."""
    env = cli.env(**extra)
    return {k: v for k, v in env.items() if not k.startswith(("GITHUB_", "CI_"))}


def test_markdown_comments_carry_identity_warnings_and_one_trunk_change(cli: Cli) -> None:
    (cli.cwd / "deploy").mkdir()
    path = cli.write(manifest(), "deploy/voice.yaml")
    assert path.exists()
    ci = {**outside_ci(cli), **GITHUB}
    first = cli("plan", "-f", "deploy/voice.yaml", "--env", "prod", "--format", "markdown", env=ci)
    assert first.returncode == 0, first.stderr
    lines = first.stdout.splitlines()
    assert lines[0] == "<!-- telephony:plan env=prod manifest=deploy/voice.yaml -->"
    assert "### telephony plan · `prod` · `deploy/voice.yaml`" in lines
    assert (
        "Commit 8f14e45fceea167a5a36dedd4bea2543c4a0f3b2 · [CI run](https://github.com/acme/voice/actions/runs/4242)"
        in lines
    )
    # An unset ${VAR} is no warning on stderr: the comment lists it with the secrets apply will need
    # (docs/outputs.md); warnings still shown are in the comment too (tests/test_header.py).
    assert "PBX_NOT_SET_ANYWHERE" not in first.stderr
    assert "- Unset here: PBX_NOT_SET_ANYWHERE (apply refuses until they are set)." in lines, first.stdout

    applied = cli(
        "apply",
        "-f",
        "deploy/voice.yaml",
        "--env",
        "prod",
        "--auto-approve",
        env=cli.env(PBX_NOT_SET_ANYWHERE="in-pw-Qx71"),
    )
    assert applied.returncode == 0, applied.stdout + applied.stderr

    # The PBX moves: one trunk edit, twelve numbers to update, shown once.
    cli.write(manifest("pbx2.example.com"), "deploy/voice.yaml")
    env = outside_ci(cli, PBX_NOT_SET_ANYWHERE="in-pw-Qx71")
    text = cli("plan", "-f", "deploy/voice.yaml", "--env", "prod", env=env)
    assert text.returncode == 0, text.stderr
    assert text.stdout.count('trunk.outbound.address = "pbx.example.com" -> "pbx2.example.com"') == 1, text.stdout
    assert "# sip_trunks.main-pbx will be updated in-place on 12 numbers" in text.stdout
    assert "#   phone_number.n00 (+14155550000)" in text.stdout and "#   … and 2 more" in text.stdout
    assert "Plan: 0 to add, 12 to change, 0 to replace, 0 to destroy." in text.stdout
    # JSON keeps one change per number (what apply sends), each naming its trunk.
    data = json.loads(cli("plan", "-f", "deploy/voice.yaml", "--env", "prod", "--format", "json", env=env).stdout)
    updates = [c for c in data["resource_changes"] if c["change"]["actions"] == ["update"]]
    assert len(updates) == 12 and {c["trunk"] for c in updates} == {"main-pbx"}

    # A saved plan shown later keeps the path and env it was made with; outside CI, no commit line.
    saved = cli("plan", "-f", "deploy/voice.yaml", "--env", "prod", "--out", "voice.plan", env=env)
    assert saved.returncode == 0, saved.stderr
    shown = cli("show", "voice.plan", "--format", "markdown", env=env)
    assert shown.stdout.splitlines()[0] == "<!-- telephony:plan env=prod manifest=deploy/voice.yaml -->"
    assert "Commit" not in shown.stdout and "CI run" not in shown.stdout
    assert shown.stdout.count("pbx2.example.com") == 1, shown.stdout

    # Drift has its own marker, and says which way its arrows read.
    drift = cli("drift", "-f", "deploy/voice.yaml", "--env", "prod", "--format", "markdown", env=env)
    assert drift.returncode == 2, drift.stderr
    assert drift.stdout.splitlines()[0] == "<!-- telephony:drift env=prod manifest=deploy/voice.yaml -->"
    assert "Arrows (`->`) read live → manifest" in drift.stdout
    drift_text = cli("drift", "-f", "deploy/voice.yaml", "--env", "prod", env=env)
    assert "Arrows read live -> manifest" in drift_text.stdout
