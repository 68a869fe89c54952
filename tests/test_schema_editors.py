"""The manifest's JSON Schema as editors use it: descriptions, E.164 hints, value templates, `$id`."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from provisioner import __version__, grammar
from provisioner.commands.importing import EXAMPLE
from provisioner.fmt import format_text, has_jinja_blocks
from provisioner.importer import SCHEMA_MODELINE
from provisioner.manifest import E164_PATTERN
from provisioner.manifest_schema import schema
from provisioner.schema_url import MANIFEST_SCHEMA_URL, MODELINE
from tests.helpers import ROOT, run_cli

SCHEMA_FILE = ROOT / "schemas" / "telephony.schema.json"
EXAMPLES = [ROOT / "telephony.yaml", *sorted((ROOT / "examples").glob("*.yaml"))]
TEMPLATED = [p for p in EXAMPLES if "${{" in p.read_text() and not has_jinja_blocks(p.read_text())]


def properties(node: Any, path: str = "") -> Iterator[tuple[str, dict[str, Any]]]:
    """Every (path, schema) under a `properties` keyword, anywhere in `node`."""
    if isinstance(node, dict):
        for name, prop in node.get("properties", {}).items():
            yield f"{path}/{name}", prop
        for key, value in node.items():
            yield from properties(value, f"{path}/{key}")
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from properties(value, f"{path}/{index}")


def errors(document: Any) -> list[str]:
    validator = jsonschema.Draft202012Validator(json.loads(SCHEMA_FILE.read_text()))
    return [f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in validator.iter_errors(document)]


def test_every_property_has_a_description() -> None:
    found = list(properties(json.loads(SCHEMA_FILE.read_text())))
    assert len(found) > 50
    assert [path for path, prop in found if not prop.get("description")] == []


def test_the_schema_names_itself_and_its_draft() -> None:
    document = json.loads(SCHEMA_FILE.read_text())
    assert document["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert document["$id"] == MANIFEST_SCHEMA_URL == schema()["$id"]
    assert MANIFEST_SCHEMA_URL.startswith("https://raw.githubusercontent.com/")
    assert f"/v{__version__}/schemas/telephony.schema.json" in MANIFEST_SCHEMA_URL


def test_e164_fields_carry_a_pattern_and_an_example() -> None:
    definitions = json.loads(SCHEMA_FILE.read_text())["$defs"]
    fields = [
        definitions["TwilioNumber"]["properties"]["number"],
        definitions["SipTrunkNumber"]["properties"]["number"],
        definitions["InboundTrunk"]["properties"]["allowed_numbers"]["anyOf"][0]["items"],
    ]
    for field in fields:
        assert {"pattern": E164_PATTERN, "type": "string"} in field["anyOf"]
        assert all(re.fullmatch(E164_PATTERN.strip("^$"), e) for e in field["examples"])
    assert "+14155550199" in definitions["TransferRule"]["properties"]["to"]["examples"]


@pytest.mark.parametrize("value", ["+14155550100", "+442079460750", "+1415555", "+123456", "14155550100", "+0415", ""])
def test_the_schema_pattern_is_the_validators_rule(value: str) -> None:
    assert bool(re.search(E164_PATTERN, value)) == grammar.is_e164(value)


def test_there_is_a_templated_example_without_jinja_blocks() -> None:
    assert [p.name for p in TEMPLATED] == ["value-templates.yaml"]


@pytest.mark.parametrize("path", TEMPLATED, ids=lambda p: p.name)
def test_a_templated_example_shows_no_editor_errors(path: Path) -> None:
    # What an editor sees: the file before rendering, ${{ }} and all.
    assert errors(yaml.safe_load(path.read_text())) == []


TWILIO = {"account_sid": "${SID}", "auth_token": "${TOKEN}"}


def test_value_templates_are_accepted_where_the_value_is_not_free_text() -> None:
    t = "${{ vars.x }}"
    document = {
        "version": 1,
        "workspace": {"region": t, "prune": t, "max_deletes": t},
        "agents": {
            "a": {
                "id": t,
                "pre_call_webhook": t,
                "overrides": [t, "prompt"],
                "transfers": [{"to": t, "type": t, "condition": "c", "play_dialtone": t}],
            }
        },
        "sip_trunks": {
            "p": {
                "static_ip": t,
                "outbound": {"address": "h", "transport": t, "media_encryption": t, "codecs": [t]},
                "inbound": {"allowed_numbers": [t, "+14155550100"], "media_encryption": t},
            }
        },
        "phone_numbers": {"n": {"number": t, "label": "L", "provider": "twilio", "twilio": TWILIO}},
    }
    assert errors(document) == []


@pytest.mark.parametrize(
    ("path", "value"),
    [
        (("workspace", "prune"), "maybe"),
        (("workspace", "max_deletes"), "vars.n"),
        (("workspace", "region"), "mars"),
        (("phone_numbers", "n", "number"), "555-0100"),
        (("phone_numbers", "n", "number"), "${{ vars.a }} and ${{ vars.b }} x"),
    ],
)
def test_anything_else_is_still_an_editor_error(path: tuple[str, ...], value: str) -> None:
    document: dict[str, Any] = {
        "version": 1,
        "workspace": {},
        "phone_numbers": {"n": {"number": "+14155550100", "label": "L", "provider": "twilio", "twilio": TWILIO}},
    }
    target = document
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    assert errors(document) != []


def test_init_and_import_point_editors_at_the_published_schema() -> None:
    assert f"# yaml-language-server: $schema={MANIFEST_SCHEMA_URL}" == MODELINE
    assert EXAMPLE.splitlines()[0] == MODELINE == SCHEMA_MODELINE
    assert format_text(EXAMPLE) == EXAMPLE  # `telephony fmt` right after `telephony init` changes nothing


@pytest.mark.slow
def test_init_writes_a_modeline_that_works_outside_this_repository(tmp_path: Path) -> None:
    result = run_cli("init", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    written = (tmp_path / "telephony.yaml").read_text()
    assert written.splitlines()[0] == MODELINE
    assert "./schemas/" not in written


def test_the_documented_value_template_manifest_is_valid_checkable_and_formatted(tmp_path: Path) -> None:
    from provisioner.diagnostics import has_errors
    from provisioner.library import validate

    page = (ROOT / "docs" / "editors.md").read_text()
    [snippet] = [b for b in re.findall(r"```yaml\n(.*?)```", page, re.S) if "environments:" in b]
    assert errors(yaml.safe_load(snippet)) == []
    assert format_text(snippet) == snippet
    (tmp_path / "telephony.yaml").write_text(snippet)
    assert not has_errors(validate(str(tmp_path / "telephony.yaml")))  # each environment
