"""Schema errors do not hide the semantic rules: what is valid on its own is still checked.

See `provisioner.salvage`: broken parts are cut as narrowly as possible (an unknown key, a wrong
value, then the mapping that needed it), and rules do not read a cut part as "absent".
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from pydantic import ValidationError

from provisioner.cli import cli
from provisioner.manifest import Manifest
from provisioner.salvage import salvage

INVALID = Path(__file__).parent / "fixtures" / "invalid"
ENVIRON = {"TWILIO_ACCOUNT_SID": "AC0123456789abcdef0123456789abcdef", "TWILIO_AUTH_TOKEN": "t", "PBX_PASSWORD": "p"}
# The literal secrets written in the combined fixtures: reported, never shown.
SECRETS = {"schema-and-rules": "hunter2secret", "schema-and-rules-cut": "s3cr3t-t0ken-value"}


def _salvage(document: dict[str, object]) -> tuple[Manifest | None, set[tuple[object, ...]]]:
    with pytest.raises(ValidationError):
        Manifest.model_validate(document)
    rest = salvage(document)
    return (rest.manifest, set(rest.cut)) if rest else (None, set())


def test_unknown_key_is_cut_and_its_entry_kept() -> None:
    number = {"number": "+1 415", "label": "A", "provider": "sip_trunk", "sip_trunk": "pbx", "lable": "x"}
    manifest, cut = _salvage({"version": 1, "phone_numbers": {"a": number}})
    assert manifest is not None and manifest.phone_numbers["a"].number == "+1 415"
    assert cut == {("phone_numbers", "a", "lable")}


def test_a_missing_required_key_cuts_its_entry_only() -> None:
    numbers = {
        "a": {"number": "+14155550100", "provider": "sip_trunk", "sip_trunk": "pbx"},
        "b": {"number": "+14155550101", "label": "B", "provider": "sip_trunk", "sip_trunk": "pbx"},
    }
    manifest, cut = _salvage({"version": 1, "phone_numbers": numbers})
    assert manifest is not None and list(manifest.phone_numbers) == ["b"]
    assert cut == {("phone_numbers", "a")}


def test_a_bad_list_item_cuts_the_whole_list_so_indexes_stay_true() -> None:
    transfers = [{"to": "+14155550100", "condition": "c"}, {"to": "+14155550101"}]
    manifest, cut = _salvage({"version": 1, "agents": {"s": {"id": "agent_1", "transfers": transfers}}})
    assert manifest is not None and manifest.agents["s"].transfers is None
    assert cut == {("agents", "s", "transfers")}


def test_a_required_nested_field_cuts_up_to_an_optional_parent() -> None:
    trunk = {"outbound": {"transport": "tls"}, "inbound": {"allowed_addresses": ["203.0.113.1"]}}
    manifest, cut = _salvage({"version": 1, "sip_trunks": {"pbx": trunk}})
    assert manifest is not None and manifest.sip_trunks["pbx"].outbound is None
    assert manifest.sip_trunks["pbx"].inbound is not None
    assert cut == {("sip_trunks", "pbx", "outbound")}


@pytest.mark.parametrize("version", [2, "2", None, True])
def test_another_version_is_not_checked_by_these_rules(version: object) -> None:
    assert _salvage({"version": version, "agents": {"a": {"id": "x", "bad": 1}}}) == (None, set())


@pytest.mark.parametrize("document", [{"agents": {}}, {"version": "1", "agnets": {}}])
def test_a_missing_or_quoted_version_still_reads_as_version_1(document: dict[str, object]) -> None:
    manifest, _ = _salvage(document)
    assert manifest is not None and manifest.version == 1


def _validate(path: Path, *args: str) -> str:
    result = CliRunner().invoke(cli, ["validate", "-f", str(path), *args], env=ENVIRON)
    assert result.exit_code == 1
    assert result.exception is None or isinstance(result.exception, SystemExit)
    return result.output


def test_the_reported_case_shows_every_problem() -> None:
    document = json.loads(_validate(INVALID / "schema-and-rules.yaml", "--format", "json"))
    codes = {d["code"] for d in document["diagnostics"]}
    assert codes == {"unknown-key", "e164", "twilio-sid", "literal-secret", "unknown-agent"}


def test_cut_entries_are_neither_unknown_nor_absent() -> None:
    output = _validate(INVALID / "schema-and-rules-cut.yaml")
    assert "unknown agent" not in output  # broken-agent exists, it is only broken
    assert "not used by any phone number" not in output  # no-label uses pbx
    assert "declares neither" not in output and "accepts calls from anyone" not in output
    assert "sip_refer transfers work only" not in output  # what sales answers is unknown
    assert "literal secret" in output


@pytest.mark.parametrize("name", sorted(SECRETS))
@pytest.mark.parametrize("fmt", ["text", "json"])
def test_a_literal_secret_in_a_broken_entry_is_never_shown(name: str, fmt: str) -> None:
    output = _validate(INVALID / f"{name}.yaml", "--format", fmt)
    assert "literal-secret" in output or "literal secret" in output
    assert SECRETS[name] not in output
