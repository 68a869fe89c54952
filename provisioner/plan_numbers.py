"""Plan the phone numbers: identity by E.164, ownership, replaces, write-only credentials.

Only declared numbers are managed; other live numbers (and duplicate live entries of one number)
are listed as unmanaged and planned for deletion only under `workspace.prune`. A change that the
API cannot make in place (provider, caller-ID-only, Twilio credential rotation) is a replace.
Each change carries the request apply will send, built by the codec from canonical values.
"""

from __future__ import annotations

from typing import Any

from provisioner import desired
from provisioner.api import codec, wire
from provisioner.api.live import LiveNumber, LiveState
from provisioner.changes import (
    PHASE_ASSIGNMENTS,
    PHASE_DELETES,
    PHASE_IMPORTS,
    PHASE_UPDATES,
    Change,
    FieldChange,
    NumberDelete,
    NumberImport,
    NumberReplace,
    NumberUpdate,
    Reason,
    Unchanged,
)
from provisioner.diff import diff_views
from provisioner.manifest import Manifest
from provisioner.plan import Unmanaged, digest
from provisioner.state import SENSITIVE, NumberState, TrunkState, in_api_order, reordered_only

SIDES = ("outbound", "inbound")


def number_address(alias: str) -> str:
    return f"phone_number.{alias}"


def undeclared_address(number: str, duplicate_id: str | None = None) -> str:
    # A second live entry for one E.164 (a duplicate) needs its own address: add its id.
    return f'phone_number["{number}"]' if duplicate_id is None else f'phone_number["{number}", "{duplicate_id}"]'


def _replace_reason(have: dict[str, Any], want: dict[str, Any], rotate: bool) -> tuple[Reason, str] | None:
    if have["provider"] != want["provider"]:
        text = f"provider cannot change in place ({have['provider']} → {want['provider']})"
        return Reason.REPLACE_PROVIDER_CHANGED, text
    if want["provider"] == "twilio":
        if have.get("caller_id_only") != want.get("caller_id_only"):
            return Reason.REPLACE_CALLER_ID_ONLY_CHANGED, "caller_id_only (supports_inbound) is set only at import"
        if rotate:
            return Reason.REPLACE_ROTATE_TWILIO, "Twilio credentials cannot be changed in place (--rotate-secrets)"
    return None


def _password_fields(trunk: TrunkState | None, note: str, sides: tuple[str, ...] = SIDES) -> list[FieldChange]:
    return [
        FieldChange(
            path=f"trunk.{side}.credentials.password", before=SENSITIVE, after=SENSITIVE, sensitive=True, note=note
        )
        for side, _ in (trunk.passwords() if trunk else [])
        if side in sides
    ]


def _write_only(number: NumberState) -> list[FieldChange]:
    """What an import sends that can never be read back, named so the plan can say so."""
    if number.provider == "twilio":
        return [FieldChange(path="twilio.credentials", after=SENSITIVE, sensitive=True, note="write-only")]
    return [
        FieldChange(path=f.path, after=SENSITIVE, sensitive=True, note="write-only")
        for f in _password_fields(number.trunk, "")
    ]


def stack_settings(trunk: TrunkState | None, default_stack: str | None) -> wire.UpdatePhoneNumberRequest | None:
    """livekit_stack and store_sip_messages are not in the import body: a PATCH right after it.

    A new SIP number gets either the workspace's default stack or always `standard` (the sources
    do not say which): the PATCH is left out only when both readings give what is wanted.
    """
    if trunk is None:
        return None
    if not trunk.static_ip and trunk.store_sip_messages and default_stack == "standard":
        return None
    return wire.UpdatePhoneNumberRequest(
        livekit_stack=codec.stack_of(trunk.static_ip), store_sip_messages=trunk.store_sip_messages
    )


def _side(view: dict[str, Any], side: str) -> Any:
    trunk = view.get("trunk")
    return trunk.get(side) if isinstance(trunk, dict) else None


def _update_request(
    want_state: NumberState, have: dict[str, Any], want: dict[str, Any], rotate: bool, manages_agent: bool
) -> tuple[wire.UpdatePhoneNumberRequest, tuple[str, ...]]:
    """The PATCH for what differs, and the trunk sides whose password it sends."""
    fields: dict[str, Any] = {}
    if have["label"] != want["label"]:
        fields["label"] = want_state.label
    if manages_agent and have.get("agent") != want.get("agent"):
        fields["agent_id"] = want_state.agent_id
    trunk = want_state.trunk
    sent_passwords: list[str] = []
    if trunk is not None:
        have_trunk, want_trunk = have.get("trunk") or {}, want.get("trunk") or {}
        if have_trunk.get("static_ip") != want_trunk.get("static_ip"):
            fields["livekit_stack"] = codec.stack_of(trunk.static_ip)
        if have_trunk.get("store_sip_messages") != want_trunk.get("store_sip_messages"):
            fields["store_sip_messages"] = trunk.store_sip_messages
        with_password = {side for side, _ in trunk.passwords()}
        for side in SIDES:
            before, after = _side(have, side), _side(want, side)
            credentials_changed = (
                before is None or after is None or before.get("credentials") != after.get("credentials")
            )
            if before == after and not (rotate and side in with_password):
                continue
            # The PATCH replaces the trunk object; a password is re-sent only when rotating or when
            # credentials change (a missing password keeps the stored one).
            send = rotate or credentials_changed
            if send and side in with_password:
                sent_passwords.append(side)
            if side == "outbound":
                fields["outbound_trunk_config"] = codec.outbound_request(trunk.outbound, send_password=send)
            else:
                fields["inbound_trunk_config"] = codec.inbound_request(trunk.inbound, send_password=send)
    return wire.UpdatePhoneNumberRequest(**fields), tuple(sent_passwords)


NOTE_CALLER_ID_UNKNOWN = (
    "caller_id_only is unknown: the API did not return supports_inbound (deprecated), so it is not compared"
)
NOTE_CODEC_ORDER = (
    "the API returned the codecs in its own (alphabetical) order and no number in the workspace shows it "
    "keeps another: the manifest's order is not re-sent; change the set of codecs to force a write"
)


def _unknowable(have: dict[str, Any], want: dict[str, Any], order_kept: bool) -> tuple[str, ...]:
    """Align `have` where the API cannot tell (in place); the notes saying so."""
    notes: list[str] = []
    if "caller_id_only" in want and have.get("caller_id_only") is None:
        have["caller_id_only"] = want["caller_id_only"]
        notes.append(NOTE_CALLER_ID_UNKNOWN)
    live_out, want_out = _side(have, "outbound"), _side(want, "outbound")
    if isinstance(live_out, dict) and isinstance(want_out, dict):
        codecs, wanted = live_out.get("codecs"), want_out.get("codecs")
        if not order_kept and reordered_only(wanted, codecs) and in_api_order(codecs or []):
            live_out["codecs"] = wanted
            notes.append(NOTE_CODEC_ORDER)
    return tuple(notes)


def keeps_codec_order(live: LiveState) -> bool:
    """Evidence that the API keeps codec order: a live number whose codecs are not in its own order."""
    for item in live.numbers:
        trunk = item.state.trunk
        codecs = [c.upper() for c in trunk.outbound.codecs] if trunk and trunk.outbound else []
        if len(codecs) > 1 and not in_api_order(codecs):
            return True
    return False


def _number_change(
    number: desired.DesiredNumber,
    live: LiveNumber | None,
    rotate: bool,
    aliases: dict[str, str],
    order_kept: bool = True,
    default_stack: str | None = None,
) -> Change:
    state = number.state
    want = state.view(aliases, manage_agent=number.manages_agent)
    common: dict[str, Any] = {"address": number_address(number.alias), "kind": "phone_number", "name": number.alias}
    if live is None:
        return NumberImport(
            **common,
            action="create",
            reason=Reason.CREATE_MISSING,
            after=want,
            fields=tuple(diff_views({}, want) + _write_only(state)),
            live_digest=digest(None),
            phase=PHASE_IMPORTS,
            e164=state.number,
            request=codec.import_request(state),
            settings=stack_settings(state.trunk, default_stack),
            manages_agent=number.manages_agent,
        )
    have = live.state.view(aliases, manage_agent=number.manages_agent)
    notes = _unknowable(have, want, order_kept)
    common.update(before=have, after=want, live_id=live.phone_number_id, live_digest=digest(have), notes=notes)
    fields = diff_views(have, want)
    replace = _replace_reason(have, want, rotate)
    if replace:
        return NumberReplace(
            **common,
            action="replace",
            reason=replace[0],
            reason_text=replace[1],
            fields=tuple(fields),
            phase=PHASE_IMPORTS,
            e164=state.number,
            request=codec.import_request(state),
            settings=stack_settings(state.trunk, default_stack),
            manages_agent=number.manages_agent,
            delete_id=live.phone_number_id,
        )
    request, sent = _update_request(state, have, want, rotate, number.manages_agent)
    note = "re-sent (--rotate-secrets)" if rotate else "sent (credentials changed)"
    fields += _password_fields(state.trunk, note, sent)
    if not fields:
        return Unchanged(**common, reason=Reason.UNCHANGED)
    only_agent = all(f.path == "agent" for f in fields)
    return NumberUpdate(
        **common,
        action="update",
        reason=Reason.UPDATE_ROTATE if rotate and sent and len(fields) == len(sent) else Reason.UPDATE_DIFFERS,
        fields=tuple(fields),
        phase=PHASE_ASSIGNMENTS if only_agent else PHASE_UPDATES,
        number_id=live.phone_number_id,
        request=request,
        manages_agent=number.manages_agent,
    )


def _delete(item: LiveNumber, address: str, reason: Reason, text: str, aliases: dict[str, str]) -> NumberDelete:
    have = item.state.view(aliases, manage_agent=True)
    return NumberDelete(
        address=address,
        kind="phone_number",
        name=item.state.number,
        action="delete",
        reason=reason,
        reason_text=text,
        before=have,
        fields=(FieldChange(path="", before=have, after=None),),
        live_id=item.phone_number_id,
        live_digest=digest(have),
        phase=PHASE_DELETES,
        number_id=item.phone_number_id,
    )


def _keeper(copies: list[LiveNumber], number: desired.DesiredNumber, aliases: dict[str, str]) -> LiveNumber:
    """Of several live copies of one number, the one that matches the manifest, else the first listed."""
    if len(copies) == 1:  # the usual case: no views to build (10,000 numbers made 40,000 views)
        return copies[0]
    want = number.state.view(aliases, manage_agent=number.manages_agent)
    for item in copies:
        if item.state.view(aliases, manage_agent=number.manages_agent) == want:
            return item
    return copies[0]


def plan_numbers(
    manifest: Manifest, live: LiveState, rotate: bool, aliases: dict[str, str]
) -> tuple[list[Change], list[Unmanaged]]:
    copies: dict[str, list[LiveNumber]] = {}
    for item in live.numbers:
        copies.setdefault(item.state.key, []).append(item)
    wanted = [desired.number(manifest, alias, n) for alias, n in manifest.phone_numbers.items()]
    kept = keeps_codec_order(live)
    changes: list[Change] = []
    for number in wanted:
        found = copies.get(number.state.key, [])
        keeper = _keeper(found, number, aliases) if found else None
        changes.append(_number_change(number, keeper, rotate, aliases, kept, live.default_stack))
        for extra in [item for item in found if item is not keeper]:
            # Duplicates are never invisible (e.g. two concurrent applies against an API that accepts
            # a second import): the extra copy is deleted under the usual deletion safety rules.
            assert keeper is not None
            text = f"a duplicate of {number_address(number.alias)}, which keeps {keeper.phone_number_id}"
            address = undeclared_address(extra.state.number, extra.phone_number_id)
            changes.append(_delete(extra, address, Reason.DELETE_DUPLICATE, text, aliases))
    declared = {n.state.key for n in wanted}
    unmanaged = []
    for key, items in copies.items():
        if key in declared:
            continue
        for index, item in enumerate(items):
            state = item.state
            if not manifest.workspace.prune:
                # Listed as never touched (a duplicate shows each id); under prune, planned for deletion.
                unmanaged.append(
                    Unmanaged(state.number, state.label, state.provider, item.phone_number_id, state.agent_id)
                )
                continue
            duplicate = index > 0
            text = (
                "a duplicate of a number already in the workspace (workspace.prune: true)"
                if duplicate
                else "not declared in the manifest (workspace.prune: true)"
            )
            address = undeclared_address(state.number, item.phone_number_id if duplicate else None)
            reason = Reason.DELETE_DUPLICATE if duplicate else Reason.DELETE_PRUNED
            changes.append(_delete(item, address, reason, text, aliases))
    return changes, unmanaged
