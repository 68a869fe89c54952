"""Semantics switches: the readings of the API that no official source settles.

The emulator and the client share some guesses about the real API (see "Semantics switches" in
`docs/emulator.md` for the evidence behind each). Each guess is a switch here, so a client can be
tested against every plausible reading. The spec syntax is the same for `--semantics`,
`build_app(semantics=...)`:

    agent_patch=replace,placeholder_null=remove

| switch | values (default first) |
|---|---|
| `agent_patch` | `merge` (deep merge of nested objects) / `replace` (each sent section replaced whole) |
| `placeholder_null` | `reject` (422) / `remove` (a null placeholder value deletes the key) |
| `settings_patch` | `partial` (absent keys kept) / `defaults` (absent keys reset to the model's defaults) |
| `new_sip_stack` | `workspace` (the workspace's `default_livekit_stack`) / `standard` |
| `list_has_more` | `present` / `omitted` (v2 phone-number pages without `has_more`) |
| `codec_order` | `kept` (as sent) / `sorted` (alphabetical) |

Routes read the switches at request time from `Store.semantics`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, replace

# name -> allowed values, the default first. A public interface: scripts rely on these spellings.
SWITCHES: dict[str, tuple[str, ...]] = {
    "agent_patch": ("merge", "replace"),
    "placeholder_null": ("reject", "remove"),
    "settings_patch": ("partial", "defaults"),
    "new_sip_stack": ("workspace", "standard"),
    "list_has_more": ("present", "omitted"),
    "codec_order": ("kept", "sorted"),
}


class SemanticsError(ValueError):
    """A semantics spec or value that cannot be used; the message names it and lists the allowed ones."""


@dataclass(frozen=True)
class Semantics:
    agent_patch: str = "merge"
    placeholder_null: str = "reject"
    settings_patch: str = "partial"
    new_sip_stack: str = "workspace"
    list_has_more: str = "present"
    codec_order: str = "kept"

    def __post_init__(self) -> None:
        for name, value in asdict(self).items():
            _check(name, value)

    def as_dict(self) -> dict[str, str]:
        return {name: str(value) for name, value in asdict(self).items()}

    def with_values(self, values: Mapping[str, object]) -> Semantics:
        """A copy with some switches changed; every name and value is checked first."""
        checked: dict[str, str] = {}
        for name, value in values.items():
            if not isinstance(value, str):
                raise SemanticsError(
                    f"semantics switch {name!r}: value must be a string, one of {_allowed(name)}"
                    if name in SWITCHES
                    else _unknown(name)
                )
            checked[name] = _check(name, value)
        return replace(self, **checked)

    @property
    def spec(self) -> str:
        """The non-default switches as a spec string (empty for the defaults)."""
        defaults = DEFAULT.as_dict()
        return ",".join(f"{k}={v}" for k, v in self.as_dict().items() if defaults[k] != v)


def _allowed(name: str) -> str:
    return ", ".join(SWITCHES[name])


def _unknown(name: str) -> str:
    return f"unknown semantics switch {name!r} (known: {', '.join(SWITCHES)})"


def _check(name: str, value: str) -> str:
    if name not in SWITCHES:
        raise SemanticsError(_unknown(name))
    if value not in SWITCHES[name]:
        raise SemanticsError(f"semantics switch {name!r}: unknown value {value!r} (allowed: {_allowed(name)})")
    return value


DEFAULT = Semantics()


def parse(spec: str) -> Semantics:
    """`NAME=VALUE[,NAME=VALUE...]` (spaces around parts ignored; empty = all defaults)."""
    values: dict[str, str] = {}
    for part in filter(None, (p.strip() for p in spec.split(","))):
        name, sep, value = part.partition("=")
        name, value = name.strip(), value.strip()
        if not sep or not name:
            raise SemanticsError(f"semantics part {part!r} is not NAME=VALUE (switches: {', '.join(SWITCHES)})")
        _check(name, value)
        if name in values:
            raise SemanticsError(f"semantics switch {name!r} given twice")
        values[name] = value
    return DEFAULT.with_values(values)


def coerce(value: str | Semantics | None) -> Semantics:
    if value is None:
        return DEFAULT
    if isinstance(value, Semantics):
        return value
    return parse(value)


def one_switch_at_a_time() -> list[str]:
    """The defaults, then each non-default value alone, as specs (what the test matrix runs)."""
    return [""] + [f"{name}={value}" for name, values in SWITCHES.items() for value in values[1:]]
