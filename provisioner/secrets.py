"""Resolving `${VAR}` references against the process environment, at the moment a value is sent.

What a reference is (`${VAR}`, `${VAR:-default}`, the `$${` escape), which fields must hold one
and which are secrets is grammar: `provisioner.grammar`. This module only adds the default
environment, so callers that send values need not pass `os.environ` around.

Nothing here logs or formats a resolved value: `MissingSecret` names the variable only.
"""

from __future__ import annotations

import os
from collections.abc import Mapping

from provisioner.grammar import MissingSecret, resolve_references

__all__ = ["MissingSecret", "resolve"]


def resolve(value: str, environ: Mapping[str, str] | None = None) -> str:
    """`value` with every reference replaced (from `os.environ` by default). Raises `MissingSecret`."""
    return resolve_references(value, os.environ if environ is None else environ)
