"""Type checks for agent `conversation_config` / `platform_settings` bodies, from the spec.

The real API validates the whole agent body with its models and answers 422 for a value of the
wrong type, outside an enum, out of range or missing a required key, anywhere in the config. The
emulator stores what it accepts and returns it from every GET, so without this check a bad PATCH
would make every later agent response break the spec. `agent_schema.json` holds the request
schemas reachable from the two sections (regenerate with `python tests/test_emulator_known_fields.py`);
this is a small JSON Schema subset validator for what they use: `$ref`, `type`, `enum`, `const`,
`properties`, `required`, `additionalProperties`, `items`, `anyOf`/`oneOf` (either matching
member is enough), `allOf`, numeric bounds, length bounds and `pattern`.
"""

from __future__ import annotations

import copy
import json
import operator
import re
from functools import lru_cache
from pathlib import Path
from typing import Any

from fastapi.exceptions import RequestValidationError

ROOTS = {
    "conversation_config": "ConversationalConfigAPIModel-Input",
    "platform_settings": "AgentPlatformSettingsRequestModel",
}
Loc = tuple[str | int, ...]


@lru_cache(maxsize=1)
def schemas() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(Path(__file__).with_name("agent_schema.json").read_text())
    return data


@lru_cache(maxsize=256)
def _pattern(source: str) -> re.Pattern[str] | None:
    try:
        return re.compile(source)
    except re.error:  # an ECMA-only construct: not checked
        return None


_TYPES: dict[str, Any] = {
    "string": lambda v: isinstance(v, str),
    "integer": lambda v: (isinstance(v, int) and not isinstance(v, bool)) or (isinstance(v, float) and v.is_integer()),
    "number": lambda v: isinstance(v, int | float) and not isinstance(v, bool),
    "boolean": lambda v: isinstance(v, bool),
    "null": lambda v: v is None,
    "array": lambda v: isinstance(v, list),
    "object": lambda v: isinstance(v, dict),
}
_ERROR_TYPE = {"string": "string_type", "integer": "int_type", "number": "float_type", "boolean": "bool_type"}


def _error(loc: Loc, kind: str, msg: str, value: Any) -> dict[str, Any]:
    return {"type": kind, "loc": loc, "msg": msg, "input": value}


def _first(schema: dict[str, Any], value: Any, loc: Loc, depth: int) -> dict[str, Any] | None:
    """The first violation of `schema` by `value`, or None."""
    if depth > 64:
        return None
    if "$ref" in schema:
        target = schemas().get(schema["$ref"].rsplit("/", 1)[-1])
        if target is not None:
            found = _first(target, value, loc, depth + 1)
            if found:
                return found
    for member in schema.get("allOf", []):
        found = _first(member, value, loc, depth + 1)
        if found:
            return found
    for key in ("anyOf", "oneOf"):
        members = schema.get(key)
        if members:
            errors = [_first(m, value, loc, depth + 1) for m in members]
            if all(errors):
                deepest = max(errors, key=lambda e: len(e["loc"]) if e else 0)
                return deepest if deepest and len(deepest["loc"]) > len(loc) else errors[0]
    kind = schema.get("type")
    if kind is not None:
        kinds = kind if isinstance(kind, list) else [kind]
        if not any(_TYPES.get(k, lambda _v: True)(value) for k in kinds):
            name = kinds[0]
            return _error(loc, _ERROR_TYPE.get(name, f"{name}_type"), f"Input should be a valid {name}", value)
    if "enum" in schema and value not in schema["enum"]:
        options = ", ".join(repr(v) for v in schema["enum"])
        return _error(loc, "enum", f"Input should be {options}", value)
    if "const" in schema and value != schema["const"]:
        return _error(loc, "literal_error", f"Input should be {schema['const']!r}", value)
    if isinstance(value, int | float) and not isinstance(value, bool):
        for key, ok, word in (
            ("minimum", operator.ge, "greater than or equal to"),
            ("maximum", operator.le, "less than or equal to"),
            ("exclusiveMinimum", operator.gt, "greater than"),
            ("exclusiveMaximum", operator.lt, "less than"),
        ):
            if key in schema and not ok(value, schema[key]):
                return _error(loc, key, f"Input should be {word} {schema[key]}", value)
    if isinstance(value, str):
        if len(value) < schema.get("minLength", 0):
            return _error(
                loc, "string_too_short", f"String should have at least {schema['minLength']} characters", value
            )
        if "maxLength" in schema and len(value) > schema["maxLength"]:
            return _error(loc, "string_too_long", f"String should have at most {schema['maxLength']} characters", value)
        pattern = _pattern(schema["pattern"]) if "pattern" in schema else None
        if pattern is not None and not pattern.search(value):
            return _error(loc, "string_pattern_mismatch", f"String should match pattern '{schema['pattern']}'", value)
    if isinstance(value, list):
        if len(value) < schema.get("minItems", 0):
            return _error(loc, "too_short", f"List should have at least {schema['minItems']} items", value)
        if "maxItems" in schema and len(value) > schema["maxItems"]:
            return _error(loc, "too_long", f"List should have at most {schema['maxItems']} items", value)
        items = schema.get("items")
        if isinstance(items, dict):
            for index, item in enumerate(value):
                found = _first(items, item, (*loc, index), depth + 1)
                if found:
                    return found
    if isinstance(value, dict):
        for key in schema.get("required", []):
            if key not in value:
                return _error((*loc, key), "missing", "Field required", value)
        properties: dict[str, Any] = schema.get("properties", {})
        extra = schema.get("additionalProperties")
        for key, item in value.items():
            sub = properties.get(key, extra if isinstance(extra, dict) else None)
            if sub is not None:
                found = _first(sub, item, (*loc, key), depth + 1)
                if found:
                    return found
    return None


OUTPUT_ROOTS = {
    "conversation_config": "ConversationalConfigAPIModel-Output",
    "platform_settings": "AgentPlatformSettingsResponseModel",
}


def _resolve(schema: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema and schema["$ref"].rsplit("/", 1)[-1] in schemas():
        schema = schemas()[schema["$ref"].rsplit("/", 1)[-1]]
    return schema


def _nullable(schema: dict[str, Any]) -> bool:
    kind = schema.get("type")
    if kind == "null" or (isinstance(kind, list) and "null" in kind):
        return True
    return any(_nullable(_resolve(m)) for m in schema.get("anyOf", []) + schema.get("oneOf", []))


def _complete(schema: dict[str, Any], value: Any, depth: int) -> None:
    """Fill the keys the response schema requires (its default, else null), as the API stores them."""
    schema = _resolve(schema)
    if depth > 64:
        return
    for member in schema.get("allOf", []):
        _complete(member, value, depth + 1)
    members = [_resolve(m) for m in schema.get("anyOf", []) + schema.get("oneOf", [])]
    if isinstance(value, dict):
        objects = [m for m in members if "properties" in m]
        chosen = objects if len(objects) == 1 else [m for m in objects if _first(m, value, (), 0) is None][:1]
        for member in chosen:
            _complete(member, value, depth + 1)
        properties: dict[str, Any] = schema.get("properties", {})
        for key in schema.get("required", []):
            if key not in value and key in properties:
                prop = properties[key]
                if "default" in prop:
                    value[key] = copy.deepcopy(prop["default"])
                elif _nullable(prop):
                    value[key] = None
        extra = schema.get("additionalProperties")
        for key, item in value.items():
            sub = properties.get(key, extra if isinstance(extra, dict) else None)
            if sub is not None:
                _complete(sub, item, depth + 1)
    elif isinstance(value, list):
        items = schema.get("items")
        for member in [m for m in members if "items" in m][:1]:
            items = member["items"]
        if isinstance(items, dict):
            for item in value:
                _complete(items, item, depth + 1)


def complete(record: dict[str, Any]) -> None:
    """Materialise, in a stored agent, the keys the response schema requires (the API stores
    whole models, so a GET returns e.g. every `EffectsSpec` field even if a PATCH sent one)."""
    for section, root in OUTPUT_ROOTS.items():
        if isinstance(record.get(section), dict):
            _complete({"$ref": f"#/components/schemas/{root}"}, record[section], 0)


def validate(body: dict[str, Any]) -> None:
    """Raise FastAPI's 422 if a config section of an agent create/PATCH body breaks the spec."""
    for section, root in ROOTS.items():
        value = body.get(section)
        if value is None:
            continue
        found = _first({"$ref": f"#/components/schemas/{root}"}, value, ("body", section), 0)
        if found:
            raise RequestValidationError([found])
