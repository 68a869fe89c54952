"""Where a `${VAR}` may stand: only in the credential fields (grammar's list), never the API key."""

from __future__ import annotations

from pathlib import Path

import pytest

from provisioner import grammar, library
from provisioner.diagnostics import ManifestInvalid

BASE = """\
version: 1
pre_call_webhook:
  url: {url}
  headers: {{Authorization: "{auth}", X-Source: "{source}"}}
agents:
  support:
    id: agent_3701k3ttaq12ewp8b7qv5rfyszkz
    transfers: [{{to: "{to}", condition: c, type: sip_refer}}]
sip_trunks:
  pbx:
    outbound:
      address: "{address}"
      credentials: {{username: "{username}", password: "{password}"}}
phone_numbers:
  line:
    number: "{number}"
    label: "{label}"
    provider: sip_trunk
    sip_trunk: pbx
    agent: support
  other:
    number: "+14155550101"
    label: Other
    provider: twilio
    twilio: {{account_sid: "{sid}", auth_token: "{token}"}}
"""
CLEAN = {
    "url": "https://crm.example.com/hook",
    "auth": "Bearer ${CRM_TOKEN}",
    "source": "${SOURCE_TAG}",
    "to": "sip:desk@pbx.example.com",
    "address": "pbx.example.com",
    "username": "elevenlabs",
    "password": "${PBX_PASSWORD}",
    "number": "+14155550100",
    "label": "Line",
    "sid": "${TWILIO_ACCOUNT_SID}",
    "token": "${TWILIO_AUTH_TOKEN}",
}
ENVIRON = {
    "CRM_TOKEN": "t",
    "SOURCE_TAG": "s",
    "PBX_PASSWORD": "p",
    "TWILIO_ACCOUNT_SID": "AC0123456789abcdef0123456789abcdef",
    "TWILIO_AUTH_TOKEN": "t",
    "LEAK": "+14155550199",
    "ELEVENLABS_API_KEY": "xi-key",
}
NOT_SECRET = {
    "url": (3, 8, "pre_call_webhook.url"),
    "to": (8, 22, "agents.support.transfers.0.to"),
    "address": (12, 16, "sip_trunks.pbx.outbound.address"),
    "username": (13, 31, "sip_trunks.pbx.outbound.credentials.username"),
    "number": (16, 13, "phone_numbers.line.number"),
    "label": (17, 12, "phone_numbers.line.label"),
}


def _write(tmp_path: Path, **fields: str) -> Path:
    path = tmp_path / "telephony.yaml"
    path.write_text(BASE.format(**{**CLEAN, **fields}))
    return path


def test_references_in_credential_fields_are_valid(tmp_path: Path) -> None:
    assert library.validate(_write(tmp_path), environ=ENVIRON) == []


@pytest.mark.parametrize("field", sorted(NOT_SECRET))
def test_a_reference_outside_the_credential_fields_is_a_located_error(tmp_path: Path, field: str) -> None:
    path = _write(tmp_path, **{field: "${LEAK}"})
    found = library.validate(path, environ=ENVIRON)
    line, column, shown = NOT_SECRET[field]
    assert [(d.severity, d.line, d.column, d.code) for d in found] == [
        ("error", line, column, "secret-reference-outside-credentials")
    ]
    assert found[0].message.startswith(f"${{LEAK}} in {shown}: ${{VAR}} is for secrets only")
    assert "${{ vars.leak }}" in found[0].message and "--var leak=VALUE" in found[0].message
    # plan and apply load through the same rules, so they refuse it too (nothing is sent)
    with pytest.raises(ManifestInvalid) as caught:
        library.load_manifest(path)
    assert "secret-reference-outside-credentials" in {d.code for d in caught.value.diagnostics}


def test_the_rule_uses_grammars_list() -> None:
    for path in grammar.CREDENTIAL_FIELDS:
        assert grammar.may_hold_reference(tuple("x" if p == "*" else p for p in path))
    assert grammar.may_hold_reference(("pre_call_webhook", "headers", "X-Source"))
    assert not grammar.may_hold_reference(("phone_numbers", "x", "label"))


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("auth", "Bearer ${ELEVENLABS_API_KEY}"),
        ("source", "${ELEVENLABS_API_KEY}"),
        ("password", "${ELEVENLABS_API_KEY:-x}"),
        ("token", "${ELEVENLABS_WORKSPACE_KEY}"),
        ("label", "${elevenlabs_api_key}"),
    ],
)
def test_the_api_key_variable_is_refused_anywhere(tmp_path: Path, field: str, value: str) -> None:
    found = library.validate(_write(tmp_path, **{field: value}), environ=ENVIRON)
    assert [(d.severity, d.code) for d in found] == [("error", "api-key-reference")]
    assert "names an ElevenLabs API key" in found[0].message
    assert found[0].line > 1 and found[0].column > 1


def test_api_key_variable_names() -> None:
    assert grammar.is_api_key_variable("ELEVENLABS_API_KEY")
    assert grammar.is_api_key_variable("ELEVENLABS_KEY")
    assert grammar.is_api_key_variable("MY_KEY", configured="MY_KEY")
    assert not grammar.is_api_key_variable("ELEVENLABS_BASE_URL")
    assert not grammar.is_api_key_variable("TWILIO_API_KEY")


def test_the_api_key_is_refused_in_environment_vars(tmp_path: Path) -> None:
    path = _write(tmp_path)
    path.write_text(path.read_text() + 'environments:\n  prod: {vars: {k: "${ELEVENLABS_API_KEY}"}}\n')
    found = library.validate(path, environ=ENVIRON)
    assert [(d.line, d.code) for d in found] == [(27, "api-key-reference")]


def test_an_environments_own_key_variable_is_refused_like_the_api_key(tmp_path: Path) -> None:
    path = _write(tmp_path, auth="Bearer ${PROD_KEY}")
    path.write_text(path.read_text() + "environments:\n  prod: {api_key_env: PROD_KEY}\n")
    found = library.validate(path, environ={**ENVIRON, "PROD_KEY": "x"})
    assert [d.code for d in found] == ["api-key-reference"]
    assert "${PROD_KEY} names an ElevenLabs API key" in found[0].message


@pytest.mark.parametrize("name", ["KEY-PROD", "1KEY", "", "A B"])
def test_api_key_env_must_be_a_variable_name(tmp_path: Path, name: str) -> None:
    path = _write(tmp_path)
    path.write_text(path.read_text() + f"environments:\n  prod: {{api_key_env: '{name}'}}\n")
    found = [d for d in library.validate(path, environ=ENVIRON) if d.severity == "error"]
    assert len(found) == 1 and "api_key_env must name an environment variable" in found[0].message
    assert (found[0].line, found[0].file) == (27, str(path))
