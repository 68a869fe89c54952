"""`${VAR}` references: the manifest's only way to bring in secrets.

`${VAR}` reads the process environment; `${VAR:-default}` falls back to `default` when VAR is unset
or empty (shell semantics). References stay unresolved in the model; the reconciler calls
`resolve` at the moment a value is sent, so a printed or diffed model never holds a secret.

`$${` writes a literal `${` (so a value can contain the characters without being a reference).

Nothing here logs or formats a resolved value: `MissingSecret` names the variable only.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping, Sequence

from provisioner.grammar import MissingSecret

__all__ = ["MissingSecret"]

# `${{` is Jinja and `{{` a dynamic variable: a reference needs an identifier right after `${`.
_REFERENCE = re.compile(r"\$\$\{|\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")

# Fields whose values are credentials: they must be `${VAR}` references, never literals.
# Paths use "*" for any mapping key (a name chosen by the user).
_SECRET_FIELDS: frozenset[tuple[str, ...]] = frozenset(
    {
        ("phone_numbers", "*", "twilio", "auth_token"),
        ("phone_numbers", "*", "twilio", "account_auth_token"),
        ("sip_trunks", "*", "outbound", "credentials", "password"),
        ("sip_trunks", "*", "inbound", "credentials", "password"),
    }
)
# Webhook request headers whose names say they carry credentials.
_SECRET_HEADER = re.compile(r"(?i)(auth|token|secret|api[-_]?key|password|cookie|signature|credential)")


def references(value: str) -> list[str]:
    """Names of the `${VAR}` references in `value`, in order, with repeats removed."""
    names: list[str] = []
    for match in _REFERENCE.finditer(value):
        name = match.group(1)
        if name and name not in names:
            names.append(name)
    return names


def has_reference(value: str) -> bool:
    return bool(references(value))


def has_default(value: str, name: str) -> bool:
    """Whether every `${name}` in `value` carries a `:-default`."""
    return all(m.group(2) is not None for m in _REFERENCE.finditer(value) if m.group(1) == name)


def resolve(value: str, environ: Mapping[str, str] | None = None) -> str:
    """`value` with every reference replaced. Raises `MissingSecret` for an unset one without default."""
    env = os.environ if environ is None else environ

    def substitute(match: re.Match[str]) -> str:
        name, default = match.group(1), match.group(2)
        if name is None:  # the `$${` escape
            return "${"
        found = env.get(name)
        if found:
            return found
        if default is not None:
            return default
        if found is not None:  # set but empty, no default: an empty value is still a value
            return found
        raise MissingSecret(name)

    return _REFERENCE.sub(substitute, value)


def unset(value: str, environ: Mapping[str, str]) -> list[str]:
    """References in `value` that are unset and have no default (what `resolve` would refuse)."""
    return [name for name in references(value) if name not in environ and not has_default(value, name)]


def is_secret_field(path: Sequence[str | int]) -> bool:
    """Whether the manifest value at `path` is a credential (must be a reference, never printed).

    Webhook headers count when their name looks like a credential (`Authorization`, `X-Api-Key`...).
    """
    keys = tuple(str(p) for p in path)
    if _is_webhook_header(keys):
        return bool(_SECRET_HEADER.search(keys[-1]))
    return any(_matches(keys, pattern) for pattern in _SECRET_FIELDS)


def _is_webhook_header(keys: tuple[str, ...]) -> bool:
    workspace = len(keys) == 3 and keys[:2] == ("pre_call_webhook", "headers")
    agent = len(keys) == 5 and keys[0] == "agents" and keys[2:4] == ("pre_call_webhook", "headers")
    return workspace or agent


def _matches(keys: tuple[str, ...], pattern: tuple[str, ...]) -> bool:
    return len(keys) == len(pattern) and all(p in ("*", k) for k, p in zip(keys, pattern, strict=True))
