"""Resolving `${VAR}` references against the process environment, at the moment a value is sent.

What a reference is (`${VAR}`, `${VAR:-default}`, the `$${` escape), which fields must hold one
and which are secrets is grammar: `provisioner.grammar`. This module only adds the default
environment, so callers that send values need not pass `os.environ` around.

Nothing here logs or formats a resolved value: `MissingSecret` names the variable only. Every
value resolved is remembered by `provisioner.redact`, which scrubs it from whatever is printed
(an API that echoes a request body in its error text included).
"""

from __future__ import annotations

import os
from collections.abc import Mapping

from provisioner import redact
from provisioner.grammar import MissingSecret, references, resolve_references

__all__ = ["MissingSecret", "resolve"]


def resolve(value: str, environ: Mapping[str, str] | None = None) -> str:
    """`value` with every reference replaced (from `os.environ` by default). Raises `MissingSecret`."""
    env = os.environ if environ is None else environ
    resolved = resolve_references(value, env)
    for name in references(value):
        redact.remember(env.get(name))
    if resolved != value:
        redact.remember(resolved)
    return resolved
