"""The manifest models and the JSON Schema generated from them."""

from __future__ import annotations

import json
import re
import typing
from pathlib import Path

import jsonschema
import pytest
import yaml
from pydantic import BaseModel, ValidationError

from provisioner import manifest as m
from provisioner.api.codec import OVERRIDE_PATHS
from provisioner.manifest_schema import REGENERATE, schema, schema_text
from provisioner.templating import render

ROOT = Path(__file__).parent.parent
SCHEMA_FILE = ROOT / "schemas" / "telephony.schema.json"
MANIFESTS = [ROOT / "telephony.yaml", *sorted((ROOT / "examples").glob("*.yaml"))]


def test_schema_file_is_current() -> None:
    assert SCHEMA_FILE.read_text() == schema_text(), f"schemas/telephony.schema.json is stale; run: {REGENERATE}"


def test_schema_is_valid_json_schema() -> None:
    jsonschema.Draft202012Validator.check_schema(json.loads(SCHEMA_FILE.read_text()))


@pytest.mark.parametrize("path", MANIFESTS, ids=lambda p: p.name)
def test_manifests_match_the_schema_and_declare_it(path: Path) -> None:
    text = path.read_text()
    assert text.startswith("# yaml-language-server: $schema=")
    target = (path.parent / text.splitlines()[0].split("$schema=")[1]).resolve()
    assert target == SCHEMA_FILE.resolve()
    rendered = render(text, variables=_first_environment_vars(text), environment="x", hint="").text
    jsonschema.validate(yaml.safe_load(rendered), schema())


def _first_environment_vars(text: str) -> dict[str, typing.Any]:
    if "\nenvironments:" not in text:
        return {}
    block = text[text.index("\nenvironments:") :]
    environments = yaml.safe_load(block)["environments"]
    return dict(next(iter(environments.values()))["vars"])


def test_strict_types_and_unknown_keys() -> None:
    with pytest.raises(ValidationError):
        m.Workspace.model_validate({"max_deletes": "3"})
    with pytest.raises(ValidationError):
        m.Workspace.model_validate({"prune": "true"})
    with pytest.raises(ValidationError):
        m.Workspace.model_validate({"regoin": "eu"})


def test_models_are_frozen() -> None:
    workspace = m.Workspace()
    with pytest.raises(ValidationError):
        workspace.prune = True  # type: ignore[misc]


def test_phone_numbers_are_discriminated_by_provider() -> None:
    twilio = {"provider": "twilio", "number": "+1", "label": "L", "twilio": {"account_sid": "a", "auth_token": "b"}}
    sip = {"provider": "sip_trunk", "number": "+1", "label": "L", "sip_trunk": "pbx"}
    parsed = m.Manifest.model_validate({"version": 1, "phone_numbers": {"t": twilio, "s": sip}})
    assert isinstance(parsed.phone_numbers["t"], m.TwilioNumber)
    assert isinstance(parsed.phone_numbers["s"], m.SipTrunkNumber)


@pytest.mark.parametrize(
    ("value", "expected"),
    [(True, True), (False, False), (None, None), ({"url": "https://x"}, m.Webhook(url="https://x"))],
)
def test_agent_pre_call_webhook_forms(value: object, expected: object) -> None:
    agent = m.Agent.model_validate({"id": "agent_x", "pre_call_webhook": value})
    assert agent.pre_call_webhook == expected


def test_declares_tells_null_from_absent() -> None:
    assert m.Manifest.model_validate({"version": 1, "pre_call_webhook": None}).declares("pre_call_webhook")
    assert not m.Manifest.model_validate({"version": 1}).declares("pre_call_webhook")


def test_override_names_match_their_paths() -> None:
    assert set(typing.get_args(m.OverrideName)) == set(OVERRIDE_PATHS)


def _models() -> list[type[BaseModel]]:
    return [v for v in vars(m).values() if isinstance(v, type) and issubclass(v, m.Model) and v is not m.Model]


def _section(path: Path, heading: str) -> str:
    text = path.read_text()
    section = text[text.index(heading) :]
    end = section.find("\n## ", 1)
    return section if end < 0 else section[:end]


def test_readme_documents_every_key() -> None:
    # `requires:` is documented with installing and pinning (docs/install.md), the rest in the README.
    sections = _section(ROOT / "README.md", "## The manifest") + _section(ROOT / "docs" / "install.md", "## Pinning")
    documented = set(re.findall(r"`([a-z_]+)`", sections))
    keys = {name for model in _models() for name in model.model_fields}
    assert keys - documented == set()
