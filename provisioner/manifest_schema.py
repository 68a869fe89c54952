"""The manifest's JSON Schema, generated from the pydantic models (never edited by hand).

`schemas/telephony.schema.json` holds the output of `telephony schema`; a test fails when the
two differ. Editors use it through the `# yaml-language-server: $schema=...` first line
(docs/editors.md); its `$id` is the URL of that file at this version's release tag.

What the models alone do not say, added here for editors:
- a whole-value template (`prune: ${{ vars.prune }}`) is a string until it is rendered, so every
  field whose value is not free text (booleans, numbers, enums, patterns) also accepts one
  (`$defs/ValueTemplate`); without it a templated manifest would be full of editor errors.
  Fields that are free text accept templates already; `version` and `provider` never need one.
"""

from __future__ import annotations

import json
from typing import Any

from provisioner.manifest import Manifest
from provisioner.schema_url import MANIFEST_SCHEMA_URL

REGENERATE = "telephony schema > schemas/telephony.schema.json"
TEMPLATE_REF = {"$ref": "#/$defs/ValueTemplate"}
VALUE_TEMPLATE = {
    "type": "string",
    "pattern": r"^\s*\$\{\{.*\}\}\s*$",
    "description": (
        "A whole-value template, ${{ vars.NAME }}: replaced by the environment's value (--env NAME) "
        "before the manifest is checked."
    ),
    "examples": ["${{ vars.prune }}"],
}
# Keywords that describe a value rather than constrain it: they stay outside the anyOf.
_ANNOTATIONS = ("title", "description", "default", "examples")


def schema() -> dict[str, Any]:
    document = Manifest.model_json_schema(mode="validation")
    for definition in [document, *document.get("$defs", {}).values()]:
        _accept_templates(definition)
    document.setdefault("$defs", {})["ValueTemplate"] = VALUE_TEMPLATE
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": MANIFEST_SCHEMA_URL,
        "title": "telephony.yaml (manifest version 1)",
        **{k: v for k, v in document.items() if k != "title"},
    }


def schema_text() -> str:
    return json.dumps(schema(), indent=2, sort_keys=False, ensure_ascii=False) + "\n"


def _accept_templates(model: dict[str, Any]) -> None:
    """Let each of `model`'s non-text scalar properties (or list items) be a value template too."""
    for name, prop in model.get("properties", {}).items():
        if name == "version" or "const" in prop:
            continue
        if prop.get("type") == "array" and isinstance(prop.get("items"), dict):
            prop["items"] = _templated(prop["items"])
        elif isinstance(prop.get("additionalProperties"), dict):
            prop["additionalProperties"] = _templated(prop["additionalProperties"])
        else:
            model["properties"][name] = _templated(prop)
        for member in prop.get("anyOf", []):  # list[...] | None
            if member.get("type") == "array" and isinstance(member.get("items"), dict):
                member["items"] = _templated(member["items"])


def _templated(node: dict[str, Any]) -> dict[str, Any]:
    members = node.get("anyOf", [node])
    if not any(_needs_template(m) for m in members) or any(_free_text(m) for m in members):
        return node
    if "anyOf" in node:
        return {**node, "anyOf": [*node["anyOf"], TEMPLATE_REF]}
    outer = {k: node[k] for k in _ANNOTATIONS if k in node}
    inner = {k: v for k, v in node.items() if k not in _ANNOTATIONS}
    return {**outer, "anyOf": [inner, TEMPLATE_REF]}


def _needs_template(node: dict[str, Any]) -> bool:
    if any(_needs_template(member) for member in node.get("oneOf", [])):  # true, false or {url: ...}
        return True
    return node.get("type") in ("boolean", "integer", "number") or "enum" in node or "pattern" in node


def _free_text(node: dict[str, Any]) -> bool:
    return node.get("type") == "string" and not ({"enum", "pattern", "const"} & node.keys())
