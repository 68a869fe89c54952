"""`${VAR}` references, and the promise that no secret value reaches validate's output."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from provisioner import grammar, secrets
from provisioner.secrets import MissingSecret
from tests.helpers import cli_env, run_cli

SECRET_VALUES = {
    "TWILIO_ACCOUNT_SID": "ACnot-a-sid-SUPERSECRET1",
    "TWILIO_AUTH_TOKEN": "SUPERSECRET2-token",
    "PBX_PASSWORD": "SUPERSECRET3-password",
    "CRM_URL": "http://SUPERSECRET4.internal/hook",
    "LINE_NUMBER": "SUPERSECRET5",
    "PBX_HOST": "sip:SUPERSECRET6.example.com",
}
MANIFEST = """\
version: 1
pre_call_webhook:
  url: "${CRM_URL}"
  headers: {Authorization: "Bearer literal-SUPERSECRET7"}
sip_trunks:
  pbx:
    outbound:
      address: "${PBX_HOST}"
      credentials: {username: u, password: "${PBX_PASSWORD}"}
    inbound:
      credentials: {username: u, password: SUPERSECRET8}
phone_numbers:
  line:
    number: "${LINE_NUMBER}"
    label: Line
    provider: twilio
    twilio: {account_sid: "${TWILIO_ACCOUNT_SID}", auth_token: "${TWILIO_AUTH_TOKEN}"}
  other:
    number: "+14155550101"
    label: Other
    provider: twilio
    twilio: {account_sid: "${TWILIO_ACCOUNT_SID}", auth_token: 987654321, account_auth_token: [SUPERSECRET9]}
"""


def test_references() -> None:
    assert grammar.references("Bearer ${TOKEN} and ${OTHER:-x} and ${TOKEN}") == ["TOKEN", "OTHER"]
    assert grammar.references("${{ vars.x }} {{ dyn }} $${NOT_A_REF}") == []


def test_resolve() -> None:
    environ = {"A": "1", "EMPTY": ""}
    assert secrets.resolve("x${A}y", environ) == "x1y"
    assert secrets.resolve("${B:-fallback}", environ) == "fallback"
    assert secrets.resolve("${EMPTY:-fallback}", environ) == "fallback"
    assert secrets.resolve("${EMPTY}", environ) == ""
    assert secrets.resolve("$${A}", environ) == "${A}"
    assert secrets.resolve("{{dyn}} ${{ x }}", environ) == "{{dyn}} ${{ x }}"


def test_resolve_defaults_to_the_process_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TELEPHONY_TEST_SECRET", "s3cr3t")
    assert secrets.resolve("${TELEPHONY_TEST_SECRET}") == "s3cr3t"


def test_missing_secret_names_the_variable_only() -> None:
    with pytest.raises(MissingSecret) as caught:
        secrets.resolve("user:${PASSWORD}", {"OTHER": "value-not-shown"})
    assert caught.value.name == "PASSWORD"
    assert str(caught.value) == "environment variable PASSWORD is not set (referenced as ${PASSWORD})"


def test_secret_fields() -> None:
    assert grammar.is_secret_field(("phone_numbers", "x", "twilio", "auth_token"))
    assert grammar.is_secret_field(("sip_trunks", "pbx", "inbound", "credentials", "password"))
    assert grammar.is_secret_field(("pre_call_webhook", "headers", "Authorization"))
    assert grammar.is_secret_field(("agents", "a", "pre_call_webhook", "headers", "X-Api-Key"))
    assert not grammar.is_secret_field(("pre_call_webhook", "headers", "X-Source"))
    assert not grammar.is_secret_field(("phone_numbers", "x", "label"))


@pytest.mark.slow
@pytest.mark.parametrize("fmt", ["text", "json"])
def test_no_secret_value_reaches_validate_output(tmp_path: Path, fmt: str) -> None:
    (tmp_path / "telephony.yaml").write_text(MANIFEST)
    result = run_cli("validate", "--format", fmt, cwd=tmp_path, env=cli_env(minimal=True, **SECRET_VALUES), timeout=60)
    output = result.stdout + result.stderr
    assert result.returncode == 1
    assert "SUPERSECRET" not in output
    assert "987654321" not in output
    if fmt == "json":
        codes = {d["code"] for d in json.loads(result.stdout)["diagnostics"]}
        # The problems about those fields are still reported, by name (a ${VAR} outside the
        # credential fields is refused as such, without resolving it):
        assert {"twilio-sid", "secret-reference-outside-credentials", "literal-secret", "type"} <= codes
    else:
        assert "the value of ${TWILIO_ACCOUNT_SID} is not a Twilio SID" in output
        assert "${CRM_URL} in pre_call_webhook.url: ${VAR} is for secrets only" in output
