"""Plan the phone numbers: identity by E.164, ownership, replaces, write-only credentials.

Only declared numbers are managed; other live numbers (and duplicate live entries of one number)
are listed as unmanaged and planned for deletion only under `workspace.prune`. A change that the
API cannot make in place (provider, caller-ID-only, Twilio credential rotation) is a replace.
"""

from __future__ import annotations

from typing import Any

from provisioner.diff import FieldChange, diff_views, e164, number_view
from provisioner.manifest import Manifest, PhoneNumber, SipTrunk, SipTrunkNumber, TwilioNumber
from provisioner.mapping import number_from_api
from provisioner.observe import LiveState
from provisioner.plan import (
    PHASE_ASSIGNMENTS,
    PHASE_DELETES,
    PHASE_IMPORTS,
    PHASE_UPDATES,
    ResourceChange,
    Unmanaged,
    digest,
)

SENSITIVE = "(sensitive)"


def number_address(alias: str) -> str:
    return f"phone_number.{alias}"


def undeclared_address(number: str, duplicate_id: str | None = None) -> str:
    # A second live entry for one E.164 (a duplicate) needs its own address: add its id.
    return f'phone_number["{number}"]' if duplicate_id is None else f'phone_number["{number}", "{duplicate_id}"]'


def alias_map(manifest: Manifest) -> dict[str, str]:
    """Agent id → the first alias naming it (so two aliases of one agent compare equal)."""
    aliases: dict[str, str] = {}
    for alias, agent in manifest.agents.items():
        aliases.setdefault(agent.id, alias)
    return aliases


def desired_agent(manifest: Manifest, number: PhoneNumber) -> str | None:
    if number.agent is None:
        return None
    declared = manifest.agents.get(number.agent)
    return alias_map(manifest).get(declared.id, number.agent) if declared else number.agent


def trunk_of(manifest: Manifest, number: PhoneNumber) -> SipTrunk | None:
    return manifest.sip_trunks.get(number.sip_trunk) if isinstance(number, SipTrunkNumber) else None


def manages_agent(number: PhoneNumber) -> bool:
    # `agent:` left out is not managed; `agent: null` unassigns.
    return "agent" in number.model_fields_set


def live_number_view(raw: dict[str, Any], manifest: Manifest, manage_agent: bool = True) -> dict[str, Any]:
    model, trunk = number_from_api(raw, alias_map(manifest))
    return number_view(model, trunk, model.agent, manage_agent=manage_agent)


def _replace_reason(live: dict[str, Any], want: dict[str, Any], number: PhoneNumber, rotate: bool) -> str | None:
    if live["provider"] != want["provider"]:
        return f"provider cannot change in place ({live['provider']} → {want['provider']})"
    if isinstance(number, TwilioNumber):
        if live.get("caller_id_only") != want.get("caller_id_only"):
            return "caller_id_only (supports_inbound) is set only at import"
        if rotate:
            return "Twilio credentials cannot be changed in place (--rotate-secrets)"
    return None


def _password_rotations(trunk: SipTrunk | None) -> list[FieldChange]:
    changes = []
    for side in ("outbound", "inbound"):
        part = getattr(trunk, side) if trunk else None
        if part is not None and part.credentials is not None and part.credentials.password is not None:
            changes.append(
                FieldChange(
                    f"trunk.{side}.credentials.password", SENSITIVE, SENSITIVE, True, "re-sent (--rotate-secrets)"
                )
            )
    return changes


def _write_only(number: PhoneNumber, trunk: SipTrunk | None) -> list[FieldChange]:
    """What an import sends that can never be read back, named so the plan can say so."""
    if isinstance(number, TwilioNumber):
        return [FieldChange("twilio.credentials", None, SENSITIVE, True, "write-only")]
    return [FieldChange(f.path, None, SENSITIVE, True, "write-only") for f in _password_rotations(trunk)]


def _number_change(
    manifest: Manifest, alias: str, number: PhoneNumber, live: dict[str, Any] | None, rotate: bool
) -> ResourceChange:
    trunk = trunk_of(manifest, number)
    want = number_view(number, trunk, desired_agent(manifest, number), manage_agent=manages_agent(number))
    address = number_address(alias)
    if live is None:
        return ResourceChange(
            address,
            "phone_number",
            alias,
            "create",
            None,
            want,
            fields=tuple(diff_views({}, want) + _write_only(number, trunk)),
            live_digest=digest(None),
            phase=PHASE_IMPORTS,
        )
    have = live_number_view(live, manifest, manages_agent(number))
    common: dict[str, Any] = {"live_id": live.get("phone_number_id"), "live_digest": digest(have)}
    reason = _replace_reason(have, want, number, rotate)
    fields = diff_views(have, want)
    if reason:
        return ResourceChange(
            address,
            "phone_number",
            alias,
            "replace",
            have,
            want,
            fields=tuple(fields),
            reason=reason,
            phase=PHASE_IMPORTS,
            **common,
        )
    if rotate:
        fields += _password_rotations(trunk)
    else:
        # New or changed credentials carry their password (a missing one would keep the old).
        changed = {f.path.split(".credentials")[0] for f in fields if ".credentials" in f.path}
        changed |= {f.path for f in fields if f.path in ("trunk.outbound", "trunk.inbound", "trunk")}
        fields += [
            FieldChange(f.path, f.before, f.after, True, "sent (credentials changed)")
            for f in _password_rotations(trunk)
            if any(f.path.startswith(side + ".") or side == "trunk" for side in changed)
        ]
    if not fields:
        return ResourceChange(address, "phone_number", alias, "no-op", have, want, **common)
    only_agent = all(f.path == "agent" for f in fields)
    return ResourceChange(
        address,
        "phone_number",
        alias,
        "update",
        have,
        want,
        fields=tuple(fields),
        phase=PHASE_ASSIGNMENTS if only_agent else PHASE_UPDATES,
        **common,
    )


def plan_numbers(manifest: Manifest, live: LiveState, rotate: bool) -> tuple[list[ResourceChange], list[Unmanaged]]:
    by_number: dict[str, dict[str, Any]] = {}
    extra: list[dict[str, Any]] = []
    for raw in live.numbers:
        key = e164(str(raw.get("phone_number", "")))
        if key in by_number:
            extra.append(raw)  # a duplicate of a number already seen: listed, never managed
        else:
            by_number[key] = raw
    declared = {e164(n.number) for n in manifest.phone_numbers.values()}
    changes = [
        _number_change(manifest, alias, n, by_number.get(e164(n.number)), rotate)
        for alias, n in manifest.phone_numbers.items()
    ]
    unmanaged = []
    for raw in [r for k, r in by_number.items() if k not in declared] + extra:
        duplicate = any(raw is r for r in extra)
        assigned = raw.get("assigned_agent") or {}
        item = Unmanaged(
            str(raw.get("phone_number")),
            str(raw.get("label", "")),
            str(raw.get("provider", "")),
            str(raw.get("phone_number_id")),
            assigned.get("agent_id") if assigned else None,
        )
        unmanaged.append(item)
        if manifest.workspace.prune:
            have = live_number_view(raw, manifest)
            changes.append(
                ResourceChange(
                    undeclared_address(item.number, item.phone_number_id if duplicate else None),
                    "phone_number",
                    item.number,
                    "delete",
                    have,
                    None,
                    fields=(FieldChange("", have, None),),
                    live_id=item.phone_number_id,
                    reason=(
                        "a duplicate of a number already in the workspace (workspace.prune: true)"
                        if duplicate
                        else "not declared in the manifest (workspace.prune: true)"
                    ),
                    live_digest=digest(have),
                    phase=PHASE_DELETES,
                )
            )
    return changes, unmanaged
