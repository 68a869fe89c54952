"""A trunk change shared by many numbers, shown once for review.

A SIP trunk is declared once under `sip_trunks:`, but the API stores its configuration on every
number that uses it, so editing the trunk (its address, its transport) plans one update per
number, each with the same trunk diff. A reviewer reads that diff once, with the list of numbers
it lands on; what else changes on a number (its label, its agent) is still shown per number.

Only the text and markdown renderers group. The plan, plan files, apply and `--format json` keep
one change per number, because that is what is sent (JSON names each number's trunk so a bot can
group the same way). Numbers are grouped when they share the trunk name and the exact same trunk
field changes and notes: a number whose live trunk drifted on its own gets its own block.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from provisioner.changes import Change, FieldChange
from provisioner.plan import Plan
from provisioner.state import Marker

MIN_NUMBERS = 2  # one number's trunk change is shown as a plain number update


@dataclass(frozen=True)
class TrunkGroup:
    """The trunk fields `members` share; each member's other fields are shown on its own."""

    trunk: str
    fields: tuple[FieldChange, ...]
    notes: tuple[str, ...]
    members: tuple[Change, ...]

    @property
    def address(self) -> str:
        """Where the change is made: the manifest key of the trunk."""
        return f"sip_trunks.{self.trunk}"

    @property
    def action(self) -> str:
        return "update"

    def numbers(self) -> list[str]:
        """Each member as `phone_number.ALIAS (+E164)`, in plan order."""
        return [_number_text(change) for change in self.members]


Item = Change | TrunkGroup


def is_trunk_field(field: FieldChange) -> bool:
    return field.path == "trunk" or field.path.startswith("trunk.")


def _tagged(value: Any) -> Any:
    # A marker and a live string with the same text render differently, so they must not group.
    if isinstance(value, Marker):
        return {"$marker": str(value)}
    if isinstance(value, dict):
        return {str(k): _tagged(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_tagged(v) for v in value]
    return value


def _key(trunk: str, fields: list[FieldChange], notes: tuple[str, ...]) -> str:
    rows = [[f.path, f.op, f.sensitive, f.note, _tagged(f.before), _tagged(f.after)] for f in fields]
    return json.dumps([trunk, rows, list(notes)], sort_keys=True, default=str)


def _number_text(change: Change) -> str:
    number = (change.after or {}).get("number")
    return f"{change.address} ({number})" if isinstance(number, str) else change.address


def review_items(plan: Plan) -> list[Item]:
    """The actionable changes in plan order, with each shared trunk change folded into one group.

    A group stands where its first number stood; a member is listed again only for the fields that
    are its own (with `notes` moved to the group, since they describe the trunk comparison).
    """
    members: dict[str, list[Change]] = {}
    shared: dict[str, tuple[str, list[FieldChange], tuple[str, ...]]] = {}
    for change in plan.actionable:
        trunk = plan.number_trunks.get(change.address)
        fields = [f for f in change.fields if is_trunk_field(f)]
        if trunk is None or change.action != "update" or not fields:
            continue
        key = _key(trunk, fields, change.notes)
        members.setdefault(key, []).append(change)
        shared[key] = (trunk, fields, change.notes)
    group_of: dict[str, TrunkGroup] = {}
    for key, changes in members.items():
        if len(changes) >= MIN_NUMBERS:
            trunk, fields, notes = shared[key]
            group = TrunkGroup(trunk, tuple(fields), notes, tuple(changes))
            group_of.update((change.address, group) for change in changes)
    items: list[Item] = []
    shown: set[int] = set()  # ids: comparing groups by value would compare every member
    for change in plan.actionable:
        found = group_of.get(change.address)
        if found is None:
            items.append(change)
            continue
        if id(found) not in shown:
            shown.add(id(found))
            items.append(found)
        own = tuple(f for f in change.fields if not is_trunk_field(f))
        if own:
            also = f"and the {found.address} change shown above"
            items.append(change.model_copy(update={"fields": own, "notes": (also,)}))
    return items
