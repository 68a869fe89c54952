"""pydantic validation errors → located, readable diagnostics.

pydantic's `loc` mixes real keys with union labels (the `provider` tag of a phone number, a tag
name, or a member type such as `str`); `resolve` walks the manifest's types alongside the loc to
separate the two, which gives both the position in the file and the model at that point (for
"did you mean" suggestions on misspelt keys).
"""

from __future__ import annotations

import re
import types
from collections.abc import Sequence
from typing import Annotated, Any, Literal, NamedTuple, Union, get_args, get_origin

from pydantic import BaseModel, Tag, ValidationError
from pydantic_core import ErrorDetails

from provisioner.diagnostics import Diagnostic, did_you_mean
from provisioner.grammar import is_secret_field
from provisioner.locate import SourceMap
from provisioner.manifest import Manifest

_NOUNS = {
    "string_type": "a string",
    "bool_type": "true or false",
    "int_type": "a whole number",
    "float_type": "a number",
    "dict_type": "a mapping",
    "model_type": "a mapping",
    "model_attributes_type": "a mapping",
    "list_type": "a list",
    "none_required": "null",
}
_QUOTED = re.compile(r"'([^']*)'")


def diagnostics(exc: ValidationError, source: SourceMap) -> list[Diagnostic]:
    found: dict[tuple[str | int, ...], list[tuple[ErrorDetails, bool]]] = {}
    for error in exc.errors(include_url=False):
        path, _, via_union = resolve(error["loc"])
        found.setdefault(tuple(path), []).append((error, via_union))
    result: list[Diagnostic] = []
    for key, errors in found.items():
        path = list(key)
        union_errors = [e for e, via_union in errors if via_union and e["type"] in _NOUNS]
        if len(union_errors) > 1:  # one value tried against each member of a plain union
            nouns = ", ".join(dict.fromkeys(_NOUNS[e["type"]] for e in union_errors))
            message = f"{_field(path)}expected one of: {nouns}; got {_describe(union_errors[0]['input'])}"
            result.append(source.error(path, message, "type"))
            errors = [(e, u) for e, u in errors if e not in union_errors]
        result.extend(_one(error, path, source) for error, _ in errors)
    return result


def resolve(loc: Sequence[str | int]) -> tuple[list[str | int], list[Any], bool]:
    """Split `loc` into the path in the document and the candidate types there.

    Also tells whether a plain union member label was crossed (then one error per member exists).
    """
    candidates: list[Any] = [Manifest]
    path: list[str | int] = []
    via_union = False
    for part in loc:
        members = [m for c in candidates for m in _members(c)]
        chosen = [m for m in members if len(members) > 1 and m.label == part]
        if chosen:
            candidates = [m.tp for m in chosen]
            via_union = via_union or not chosen[0].tagged
            continue
        path.append(part)
        if part != "[key]":
            candidates = [child for m in members for child in _children(m.tp, part)]
    return path, candidates, via_union


def allowed_keys(loc: Sequence[str | int]) -> list[str]:
    """Keys a mapping at `loc` may hold (empty when it is not a model)."""
    _, candidates, _ = resolve(loc)
    keys: list[str] = []
    for tp in (m.tp for c in candidates for m in _members(c)):
        if isinstance(tp, type) and issubclass(tp, BaseModel):
            keys.extend(k for k in tp.model_fields if k not in keys)
    return keys


class _Member(NamedTuple):
    label: str | None  # how pydantic names this member in a loc
    tp: Any
    tagged: bool  # a discriminated union's tag (one error), not a plain member (one error each)


def _members(tp: Any) -> list[_Member]:
    """Union members with the label pydantic uses for them in a loc."""
    origin = get_origin(tp)
    if origin is Annotated:
        inner, *meta = get_args(tp)
        tag = next((m.tag for m in meta if isinstance(m, Tag)), None)
        members = _members(inner)
        return [_Member(tag, m.tp, True) for m in members] if tag else members
    if origin in (Union, types.UnionType):
        return [m for arg in get_args(tp) if arg is not type(None) for m in _members(arg)]
    if isinstance(tp, type) and issubclass(tp, BaseModel):
        provider = tp.model_fields.get("provider")
        if provider is not None and get_origin(provider.annotation) is Literal:
            return [_Member(str(get_args(provider.annotation)[0]), tp, True)]
        return [_Member(tp.__name__, tp, False)]
    return [_Member(getattr(tp, "__name__", None), tp, False)]


def _children(tp: Any, part: str | int) -> list[Any]:
    origin = get_origin(tp)
    if origin is dict:
        return [get_args(tp)[1]]
    if origin is list:
        return [get_args(tp)[0]]
    if isinstance(tp, type) and issubclass(tp, BaseModel) and isinstance(part, str) and part in tp.model_fields:
        return [tp.model_fields[part].annotation]
    return []


def _one(error: ErrorDetails, path: list[str | int], source: SourceMap) -> Diagnostic:
    kind, ctx = error["type"], error.get("ctx") or {}
    secret = is_secret_field(path)
    if kind == "extra_forbidden":
        key = str(path[-1])
        hint = _expected_keys(key, allowed_keys(error["loc"][:-1]))
        return source.error(path, f"unknown key '{key}'{hint}", "unknown-key", at="key")
    if kind == "missing":
        return source.error(path, f"missing required key '{path[-1]}'", "missing-key", at="key")
    if kind == "literal_error":
        return source.error(path, _literal(path, error["input"], str(ctx.get("expected", "")), secret), "enum")
    if kind == "union_tag_invalid":
        expected = _QUOTED.findall(str(ctx.get("expected_tags", "")))
        tag = str(ctx.get("tag", ""))
        message = f"unknown provider '{tag}'; expected {_or(expected)}{_suggest(tag, expected)}"
        return source.error([*path, "provider"], message, "enum")
    if kind == "union_tag_not_found":
        return source.error(path, "missing required key 'provider' ('twilio' or 'sip_trunk')", "missing-key", at="key")
    if kind in _NOUNS:
        return source.error(path, _wrong_type(kind, error["input"], path, source, secret), "type")
    return source.error(path, f"{_field(path)}{_bounds(kind, ctx) or error['msg']}", "schema")


def _literal(path: list[str | int], value: Any, expected_text: str, secret: bool) -> str:
    expected = _QUOTED.findall(expected_text) or [expected_text]
    if path == ["version"] and isinstance(value, str) and value.strip() == "1":
        return 'version must be the number 1, not the string "1": write version: 1 without quotes'
    if path == ["version"] and (isinstance(value, float | bool) and value == 1):
        shown = "a boolean" if isinstance(value, bool) else repr(value)
        return f"version must be the integer 1, not {shown}: write version: 1"
    if path == ["version"]:
        return "version must be 1 (the only manifest format so far)"
    shown = "the value" if secret or not isinstance(value, str | int | float | bool) else f"'{value}'"
    hint = _suggest(str(value), expected) if isinstance(value, str) and not secret else ""
    return f"{_field(path)}{shown} is not {_or(expected)}{hint}"


def _wrong_type(kind: str, value: Any, path: list[str | int], source: SourceMap, secret: bool) -> str:
    if path and path[-1] == "[key]":
        return f"{_field(path[:-2])}keys must be strings, got {_describe(value)}; quote it"
    expected = _NOUNS[kind]
    if len(path) == 3 and path[0] == "agents" and path[2] == "pre_call_webhook":
        expected = "true, false or a mapping {url, headers}"
    message = f"{_field(path)}expected {expected}, got {_describe(value)}"
    plain = None if secret else source.plain_text(path)
    if kind == "string_type" and plain is not None and isinstance(value, int | float | bool):
        return f'{message}: YAML reads {plain} unquoted as {_describe(value)}; write it in quotes: "{plain}"'
    if kind == "list_type" and plain is not None:
        return f"{message}; write [{plain}]"
    return message


def _bounds(kind: str, ctx: dict[str, Any]) -> str | None:
    if kind == "string_too_short":
        return "must not be empty"
    if kind == "string_too_long":
        return f"must be at most {ctx.get('max_length')} characters"
    if kind in ("greater_than_equal", "greater_than"):
        return f"must be at least {ctx.get('ge', ctx.get('gt'))}"
    return None


def _field(path: Sequence[str | int]) -> str:
    """`name: ` for the last key in `path`, with any list indexes after it (`transfers[0]: `)."""
    parts = [p for p in path if p != "[key]"]
    last = max((i for i, p in enumerate(parts) if isinstance(p, str)), default=None)
    if last is None:
        return ""
    return str(parts[last]) + "".join(f"[{i}]" for i in parts[last + 1 :]) + ": "


def _describe(value: Any) -> str:
    if value is None:
        return "nothing (null)"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    return type(value).__name__


def _or(options: list[str]) -> str:
    quoted = [f"'{o}'" for o in options]
    return quoted[0] if len(quoted) == 1 else f"{', '.join(quoted[:-1])} or {quoted[-1]}"


def _expected_keys(key: str, allowed: list[str]) -> str:
    suggestion = _suggest(key, allowed)
    if suggestion or not allowed:
        return suggestion
    return f"; expected one of: {', '.join(allowed)}"


def _suggest(word: str, options: list[str]) -> str:
    return did_you_mean(word, options)
