"""Every request body the CLI sends validates against the official spec's request schemas.

Placeholder values are checked against the strictest source, the API reference's
`DynamicVariablesConfig` (string, number, integer or boolean; never null). The emulator records
the requests it receives (`GET /_emulator/requests`, secret values redacted); the e2e `cli`
fixture checks them after every test.
"""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path
from typing import Any

import jsonschema

ROOT = Path(__file__).resolve().parents[2]


@lru_cache(maxsize=1)
def spec() -> dict[str, Any]:
    document: dict[str, Any] = json.loads((ROOT / "tests" / "data" / "elevenlabs-openapi.json").read_text())
    scalar = {"anyOf": [{"type": "string"}, {"type": "number"}, {"type": "integer"}, {"type": "boolean"}]}
    schemas = document["components"]["schemas"]
    for suffix in ("-Input", "-Output"):  # the spec's two dangling refs (see test_emulator_known_fields)
        schemas.setdefault(f"DynamicVariablesConfig{suffix}", {"$ref": "#/components/schemas/DynamicVariablesConfig"})
    for name, schema in schemas.items():
        if name.startswith("DynamicVariablesConfig") and "properties" in schema:
            schema["properties"]["dynamic_variable_placeholders"]["additionalProperties"] = scalar
    return document


@lru_cache(maxsize=64)
def _validator(method: str, template: str) -> jsonschema.Draft202012Validator | None:
    body = spec()["paths"][template].get(method.lower(), {}).get("requestBody")
    if not body:
        return None
    schema = {**body["content"]["application/json"]["schema"], "components": spec()["components"]}
    return jsonschema.Draft202012Validator(schema)


def _template(path: str) -> str | None:
    parts = path.split("?")[0].split("/")
    for template in spec()["paths"]:
        pattern = template.split("/")
        if len(pattern) == len(parts) and all(p.startswith("{") or p == q for p, q in zip(pattern, parts, strict=True)):
            return template
    return None


def problems(requests: list[dict[str, Any]]) -> list[str]:
    """One line per request body that fails its operation's request schema."""
    found = []
    for item in requests:
        template = _template(item["path"])
        validator = _validator(item["method"], template) if template else None
        if validator is None or item.get("body") is None:
            continue
        error = jsonschema.exceptions.best_match(validator.iter_errors(item["body"]))
        if error is not None:
            found.append(f"{item['method']} {item['path']}: {error.message[:200]} at {list(error.absolute_path)}")
    return found
