"""The emulator's known-field tree (what agent PATCH keeps) is generated from the OpenAPI spec.

Run `python tests/test_emulator_known_fields.py` to regenerate
`provisioner/emulator/known_fields.json` and `provisioner/emulator/agent_schema.json` (the request
schemas agent config bodies are type-checked against) after updating
`tests/data/elevenlabs-openapi.json`.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
SPEC = ROOT / "tests" / "data" / "elevenlabs-openapi.json"
TARGET = ROOT / "provisioner" / "emulator" / "known_fields.json"
SCHEMA_TARGET = ROOT / "provisioner" / "emulator" / "agent_schema.json"
SCHEMA_ROOTS = (
    "ConversationalConfigAPIModel-Input",
    "AgentPlatformSettingsRequestModel",
    "ConversationalConfigAPIModel-Output",
    "AgentPlatformSettingsResponseModel",
)
DOC_KEYS = {"description", "title", "examples", "example", "deprecated", "readOnly", "discriminator"}
ROOTS = {
    "conversation_config": ["ConversationalConfigAPIModel-Input", "ConversationalConfigAPIModel-Output"],
    "platform_settings": ["AgentPlatformSettingsRequestModel", "AgentPlatformSettingsResponseModel"],
}
MAX_DEPTH = 12


def _merge(a: Any, b: Any) -> Any:
    if isinstance(a, dict) and isinstance(b, dict):
        out = dict(a)
        for k, v in b.items():
            out[k] = _merge(out[k], v) if k in out else v
        return out
    return a if isinstance(a, dict) else b


def _tree(schema: dict[str, Any], schemas: dict[str, Any], seen: frozenset[str], depth: int) -> Any:
    """1 = a leaf (replaced on PATCH); a dict = an object with known keys; {"*": t} = a map."""
    if depth > MAX_DEPTH:
        return {"*": 1}
    if "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[-1]
        name = name.removesuffix("-Input").removesuffix("-Output") if name not in schemas else name
        if name in seen or name not in schemas:
            return {"*": 1}  # recursive or dangling: keep whatever is sent
        return _tree(schemas[name], schemas, seen | {name}, depth + 1)
    result: Any = 1
    for key in ("anyOf", "oneOf", "allOf"):
        for member in schema.get(key, []):
            result = _merge(result, _tree(member, schemas, seen, depth))
    if "properties" in schema:
        props = {k: _tree(v, schemas, seen, depth + 1) for k, v in schema["properties"].items()}
        result = _merge(result, props)
    elif schema.get("type") == "object" or "additionalProperties" in schema:
        extra = schema.get("additionalProperties")
        sub = _tree(extra, schemas, seen, depth + 1) if isinstance(extra, dict) else 1
        result = _merge(result, {"*": sub})
    return result


def generate() -> dict[str, Any]:
    schemas = json.loads(SPEC.read_text())["components"]["schemas"]
    out: dict[str, Any] = {}
    for top, names in ROOTS.items():
        tree: Any = 1
        for name in names:
            tree = _merge(tree, _tree(schemas[name], schemas, frozenset({name}), 0))
        out[top] = tree
    return out


def _strip(node: Any) -> Any:
    """The schema without its documentation keys (property names are kept whatever they are)."""
    if isinstance(node, list):
        return [_strip(v) for v in node]
    if not isinstance(node, dict):
        return node
    out: dict[str, Any] = {}
    for key, value in node.items():
        if key in DOC_KEYS or key.startswith("x-"):
            continue
        if key == "properties":
            out[key] = {name: _strip(sub) for name, sub in value.items()}
        elif key in ("enum", "const", "default"):
            out[key] = value
        else:
            out[key] = _strip(value)
    return out


def generate_schema() -> dict[str, Any]:
    """Every component schema reachable from the agent config request roots, stripped."""
    schemas = json.loads(SPEC.read_text())["components"]["schemas"]
    alias = {"$ref": "#/components/schemas/DynamicVariablesConfig"}  # the spec's two dangling refs
    for suffix in ("-Input", "-Output"):
        schemas.setdefault(f"DynamicVariablesConfig{suffix}", alias)
    out: dict[str, Any] = {}
    todo = list(SCHEMA_ROOTS)
    while todo:
        name = todo.pop()
        if name in out or name not in schemas:
            continue
        out[name] = _strip(schemas[name])
        todo.extend(ref.rsplit("/", 1)[-1] for ref in _refs(out[name]) if ref.rsplit("/", 1)[-1] not in out)
    return dict(sorted(out.items()))


def _refs(node: Any) -> list[str]:
    if isinstance(node, dict):
        found = [node["$ref"]] if isinstance(node.get("$ref"), str) else []
        return found + [r for key, v in node.items() if key != "$ref" for r in _refs(v)]
    if isinstance(node, list):
        return [r for v in node for r in _refs(v)]
    return []


def test_agent_schema_file_is_up_to_date() -> None:
    assert json.loads(SCHEMA_TARGET.read_text()) == generate_schema()


def test_known_fields_file_is_up_to_date() -> None:
    assert json.loads(TARGET.read_text()) == generate()


def test_telephony_paths_are_known() -> None:
    tree = json.loads(TARGET.read_text())
    assert "transfer_to_number" in tree["conversation_config"]["agent"]["prompt"]["built_in_tools"]
    overrides = tree["platform_settings"]["overrides"]
    assert "enable_conversation_initiation_client_data_from_webhook" in overrides
    assert "conversation_initiation_client_data_webhook" in tree["platform_settings"]["workspace_overrides"]


if __name__ == "__main__":
    TARGET.write_text(json.dumps(generate(), sort_keys=True, separators=(",", ":")) + "\n")
    print(f"wrote {TARGET} ({TARGET.stat().st_size} bytes)")
    SCHEMA_TARGET.write_text(json.dumps(generate_schema(), sort_keys=True, separators=(",", ":")) + "\n")
    print(f"wrote {SCHEMA_TARGET} ({SCHEMA_TARGET.stat().st_size} bytes)")
